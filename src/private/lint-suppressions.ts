import { CfnResource, IAspect } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Resource types to which CDK adds a DependsOn on a resource they also reference with Ref or GetAtt:
 * functions and state machines wait for their role *and its policy*; nested stacks wait for the stacks
 * whose outputs they take; the S3 location, delivery stream and DMS endpoints wait for their role's policy.
 * CloudFormation accepts the redundant part, and dropping the DependsOn would lose the policy ordering.
 */
const TYPES_WITH_INTENDED_DEPENDS_ON = new Set([
  'AWS::Lambda::Function',
  'AWS::StepFunctions::StateMachine',
  'AWS::CloudFormation::Stack',
  'AWS::DataSync::LocationS3',
  'AWS::KinesisFirehose::DeliveryStream',
  'AWS::DMS::Endpoint',
]);

/**
 * Marks, resource by resource, cfn-lint's W3005 ("dependency already enforced by a Ref/GetAtt") where the
 * DependsOn is intended (see above), so that cfn-lint reports only real findings on the pipeline's templates.
 */
export class IntendedDependsOnLintSuppression implements IAspect {
  public visit(node: IConstruct): void {
    if (CfnResource.isCfnResource(node) && TYPES_WITH_INTENDED_DEPENDS_ON.has(node.cfnResourceType)) {
      node.addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });
    }
  }
}
