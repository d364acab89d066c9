/**
 * Upgrade safety of custom resources: every permission a custom resource's handler needs is in place before the
 * handler runs, on create and on update.
 *
 * CloudFormation creates and updates a resource only after the resources it depends on (a `Ref`, `Fn::GetAtt`,
 * `Fn::Sub` reference or a `DependsOn` entry), and in no set order otherwise ("DependsOn attribute",
 * CloudFormation User Guide). So for each policy that grants the handler's role its permissions:
 * - the custom resource must depend on the policy, directly or through other resources (else, on create, the handler
 *   may run before the policy exists, and on update before the policy is updated), and
 * - the policy must not depend on the custom resource, directly or through other resources (else, on update,
 *   CloudFormation updates the policy only after the custom resource's handler has run with the old policy).
 *
 * `upgradeSafetyFindings` takes synthesized templates (each is checked on its own: a handler and the policies of its
 * role live in the custom resource's stack) and returns one sentence per violation, empty when all is safe.
 *
 * Every policy of a handler's role counts as needed by every custom resource of that handler (a handler's code does
 * the same calls for each), except for the handlers of PER_RESOURCE_POLICY_HANDLERS, whose policies are each written
 * for one custom resource: there a policy counts for the custom resources it shares a reference with.
 */

/**
 * Handlers whose role gets one policy per custom resource. aws-cdk-lib's S3 bucket-notifications handler is one
 * function per stack; each bucket's `Custom::S3BucketNotifications` gets its own policy allowing
 * PutBucketNotification on that bucket only, and waits for it.
 */
export const PER_RESOURCE_POLICY_HANDLERS = [/^BucketNotificationsHandler[0-9a-f]{32}/];

/** A CloudFormation template as JSON. */
export interface TemplateJson {
  readonly Resources?: Record<string, { Type: string; Properties?: any; DependsOn?: string | string[] }>;
}

/** The logical ids a value refers to (Ref, Fn::GetAtt, Fn::Sub), wherever they sit in it. */
function referencedIds(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    value.forEach((item) => referencedIds(item, into));
  } else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (key === 'Ref' && typeof inner === 'string') {
        into.add(inner);
      } else if (key === 'Fn::GetAtt') {
        const target = Array.isArray(inner) ? inner[0] : String(inner).split('.')[0];
        into.add(String(target));
      } else if (key === 'Fn::Sub') {
        const text = Array.isArray(inner) ? inner[0] : inner;
        for (const match of String(text).matchAll(/\$\{([^}!.]+)(?:\.[^}]*)?\}/g)) {
          into.add(match[1]);
        }
        if (Array.isArray(inner)) {
          referencedIds(inner[1], into);
        }
      } else {
        referencedIds(inner, into);
      }
    }
  }
  return into;
}

/** Every resource each resource waits for, directly (references and DependsOn), resources only. */
function directDependencies(template: TemplateJson): Map<string, Set<string>> {
  const resources = template.Resources ?? {};
  const graph = new Map<string, Set<string>>();
  for (const [id, resource] of Object.entries(resources)) {
    const deps = referencedIds(resource.Properties);
    const explicit = resource.DependsOn === undefined ? [] : ([] as string[]).concat(resource.DependsOn);
    explicit.forEach((d) => deps.add(d));
    graph.set(id, new Set([...deps].filter((d) => d in resources && d !== id)));
  }
  return graph;
}

function dependsOn(graph: Map<string, Set<string>>, from: string, to: string): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const current = stack.pop()!;
    for (const next of graph.get(current) ?? []) {
      if (next === to) {
        return true;
      }
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return false;
}

/** The Lambda functions that handle a custom resource: its service token's function, and the functions that one
 * names in its environment (a provider framework's user handler). */
function handlerFunctions(template: TemplateJson, serviceToken: unknown): string[] {
  const resources = template.Resources ?? {};
  const functions: string[] = [];
  const visit = (value: unknown) => {
    for (const id of referencedIds(value)) {
      if (resources[id]?.Type === 'AWS::Lambda::Function' && !functions.includes(id)) {
        functions.push(id);
        visit(resources[id].Properties?.Environment);
      }
    }
  };
  visit(serviceToken);
  return functions;
}

/** The policies that grant a function's role its permissions: IAM policies and managed policies of the template
 * attached to the role (the role's own inline policies are part of the role, which the function waits for). */
function policiesOf(template: TemplateJson, functionId: string): string[] {
  const resources = template.Resources ?? {};
  const roles = [...referencedIds(resources[functionId].Properties?.Role)].filter((id) => resources[id]?.Type === 'AWS::IAM::Role');
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
    .filter(([, r]) => roles.some((role) => referencedIds(r.Properties?.Roles).has(role)))
    .map(([id]) => id)
    .concat(roles.flatMap((role) => [...referencedIds(resources[role].Properties?.ManagedPolicyArns)]
      .filter((id) => resources[id]?.Type === 'AWS::IAM::ManagedPolicy')));
}

function isCustomResource(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
}

/**
 * The violations of the rule above in the given templates (by name), one sentence each; empty when every custom
 * resource's handler permissions are in place before it runs on create and on update.
 */
export function upgradeSafetyFindings(templates: Record<string, TemplateJson>): string[] {
  const findings: string[] = [];
  for (const [name, template] of Object.entries(templates)) {
    const graph = directDependencies(template);
    for (const [id, resource] of Object.entries(template.Resources ?? {})) {
      if (!isCustomResource(resource.Type)) {
        continue;
      }
      const ownReferences = referencedIds(resource.Properties);
      for (const fn of handlerFunctions(template, resource.Properties?.ServiceToken)) {
        const perResource = PER_RESOURCE_POLICY_HANDLERS.some((pattern) => pattern.test(fn));
        const needed = [...new Set(policiesOf(template, fn))].filter((policy) => !perResource
          || [...referencedIds(template.Resources![policy].Properties?.PolicyDocument)].some((ref) => ownReferences.has(ref)));
        for (const policy of needed) {
          if (!dependsOn(graph, id, policy)) {
            findings.push(`${name}: ${id} does not wait for ${policy}, a policy of its handler ${fn}: the handler may run without it`);
          }
          if (dependsOn(graph, policy, id)) {
            findings.push(`${name}: ${policy}, a policy of the handler ${fn} of ${id}, depends on ${id}: on an update the handler runs before the policy is updated`);
          }
        }
      }
    }
  }
  return findings;
}
