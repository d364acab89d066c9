"""Make sure the account-level IAM roles DMS and a VPC OpenSearch domain need exist before they are used.

CloudFormation custom resource (Lambda-backed). Runs inline as index.handler, so it only uses the
standard library and boto3, and it answers CloudFormation itself with a PUT to event["ResponseURL"].

  dms-vpc-role              trusts dms.amazonaws.com, policy service-role/AmazonDMSVPCManagementRole
  dms-cloudwatch-logs-role  trusts dms.amazonaws.com, policy service-role/AmazonDMSCloudWatchLogsRole
  AWSServiceRoleForAmazonOpenSearchService  the service-linked role of opensearchservice.amazonaws.com

DMS looks these roles up by their fixed names and the service-linked role is one per account, so they are
shared by everything in the account (other pipelines, other teams' DMS tasks and OpenSearch domains): the
resource only creates what is missing and never deletes anything. A stack delete, a rollback or the clean-up of
a replaced resource leaves the roles in the account, as any account-level setting.

ResourceProperties (strings, as CloudFormation passes them):
  CreateDmsRoles                     "true" / "false" (default "true")
  CreateOpenSearchServiceLinkedRole  "true" / "false" (default "true")
  PropagationWaitSeconds             settle period, in seconds, after every created role is readable with
                                     iam:GetRole, because IAM is eventually consistent and DMS/OpenSearch
                                     may not see a brand-new role yet (default "10")

After a change the function polls iam:GetRole until each created role is returned, then waits the settle
period; polling and settling together stay within MAX_PROPAGATION_SECONDS and leave
RESPONSE_TIME_RESERVE_SECONDS of the function's time for answering CloudFormation. A role IAM does not
return within that bound fails the Create/Update with a Reason that names it.

PhysicalResourceId: "account-prerequisites:<roles this resource created, comma-separated, or none>".
Data: CreatedRoles and ExistingRoles, both comma-separated role names ("" when there are none).

Create/Update: FAILED with a clear Reason on any error (the roles are real prerequisites, so a loud failure
here beats an obscure one from DMS or OpenSearch later). Delete: always SUCCESS, and no IAM call at all.
"""

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HANDLER_NAME = "account-prerequisites"
ID_PREFIX = "account-prerequisites:"
NO_ROLES = "none"

DMS_PRINCIPAL = "dms.amazonaws.com"
# Role name -> the AWS managed policy (under policy/service-role/) DMS expects on it.
DMS_ROLES = {
    "dms-vpc-role": "AmazonDMSVPCManagementRole",
    "dms-cloudwatch-logs-role": "AmazonDMSCloudWatchLogsRole",
}
OPENSEARCH_SERVICE = "opensearchservice.amazonaws.com"
OPENSEARCH_ROLE = "AWSServiceRoleForAmazonOpenSearchService"
# The order role names appear in the PhysicalResourceId and in Data, whatever order they were created in.
ROLE_ORDER = ("dms-vpc-role", "dms-cloudwatch-logs-role", OPENSEARCH_ROLE)

DEFAULT_WAIT_SECONDS = 10.0
# Kept free after the propagation wait, so the response still reaches CloudFormation before the
# function times out (a custom resource that never answers blocks the stack for an hour).
RESPONSE_TIME_RESERVE_SECONDS = 20.0
# Polling for created roles plus the settle period never take longer than this (the function's timeout
# is 2 minutes; see account-prerequisites.ts).
MAX_PROPAGATION_SECONDS = 90.0
POLL_INTERVAL_SECONDS = 2.0
MAX_REASON_CHARS = 1000
RESPONSE_ATTEMPTS = 3
RESPONSE_TIMEOUT_SECONDS = 15

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


def dms_trust_policy():
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": DMS_PRINCIPAL}, "Action": "sts:AssumeRole"}],
    })


def managed_policy_arn(partition, policy_name):
    return f"arn:{partition}:iam::aws:policy/service-role/{policy_name}"


@dataclass
class Prerequisites:
    """What one pass over the wanted roles found and did."""

    created: list = field(default_factory=list)  # created by this call
    # The names IAM gave the roles created by this call (the service-linked role's comes from IAM's answer).
    created_names: list = field(default_factory=list)
    existing: list = field(default_factory=list)  # already there (also: created concurrently by someone else)
    policies_attached: list = field(default_factory=list)  # existing roles that were missing their policy

    @property
    def changed(self):
        return bool(self.created or self.policies_attached)


class PrerequisiteError(Exception):
    """A role could not be checked or created; `progress` says what was done before that."""

    def __init__(self, message, progress):
        super().__init__(message)
        self.progress = progress


# ---------------------------------------------------------------------------------------------
# Core logic: plain functions over a boto3 IAM client.
# ---------------------------------------------------------------------------------------------

def ensure_prerequisites(iam, create_dms_roles, create_opensearch_role, partition="aws", description=None):
    """Create whichever wanted roles are missing; returns a Prerequisites or raises PrerequisiteError."""
    result = Prerequisites()
    wanted = []  # (role name, managed policy ARN for a DMS role, or None for the service-linked role)
    if create_dms_roles:
        wanted += [(name, managed_policy_arn(partition, policy)) for name, policy in DMS_ROLES.items()]
    if create_opensearch_role:
        wanted.append((OPENSEARCH_ROLE, None))
    for name, policy_arn in wanted:
        try:
            if policy_arn:
                _ensure_dms_role(iam, name, policy_arn, description, result)
            else:
                _ensure_opensearch_role(iam, result)
        except ClientError as err:
            error = err.response.get("Error", {})
            raise PrerequisiteError(
                f"{name}: {err.operation_name} failed with {error.get('Code', 'Unknown')}: {error.get('Message', '')}",
                result,
            ) from err
    return result


def _ensure_dms_role(iam, name, policy_arn, description, result):
    if not _role_exists(iam, name):
        kwargs = {"RoleName": name, "AssumeRolePolicyDocument": dms_trust_policy()}
        if description:
            kwargs["Description"] = description
        try:
            iam.create_role(**kwargs)
        except ClientError as err:
            if _error_code(err) != "EntityAlreadyExists":
                raise
            # Created by someone else between our check and our call: it exists, and it is not ours.
            _log("info", "role was created concurrently; treating it as existing", role=name)
        else:
            # Recorded before the policy is attached, so a failure below still reports the role as created.
            result.created.append(name)
            result.created_names.append(name)
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
            return
    result.existing.append(name)
    if policy_arn not in _attached_policy_arns(iam, name):
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        result.policies_attached.append(name)


def _ensure_opensearch_role(iam, result):
    if _role_exists(iam, OPENSEARCH_ROLE):
        result.existing.append(OPENSEARCH_ROLE)
        return
    try:
        response = iam.create_service_linked_role(AWSServiceName=OPENSEARCH_SERVICE)
    except ClientError as err:
        if not _service_linked_role_taken(err):
            raise
        _log("info", "role was created concurrently; treating it as existing", role=OPENSEARCH_ROLE)
        result.existing.append(OPENSEARCH_ROLE)
        return
    result.created.append(OPENSEARCH_ROLE)
    result.created_names.append(response.get("Role", {}).get("RoleName") or OPENSEARCH_ROLE)


def _service_linked_role_taken(err):
    # IAM answers InvalidInput "Service role name ... has been taken in this account" when the
    # service-linked role exists; EntityAlreadyExists is accepted as well, as it means the same.
    code = _error_code(err)
    message = err.response.get("Error", {}).get("Message", "")
    return code == "EntityAlreadyExists" or (code == "InvalidInput" and "has been taken" in message)


def _role_exists(iam, name):
    try:
        iam.get_role(RoleName=name)
    except ClientError as err:
        if _error_code(err) == "NoSuchEntity":
            return False
        raise
    return True


def _attached_policy_arns(iam, name):
    arns = set()
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        arns.update(policy["PolicyArn"] for policy in page["AttachedPolicies"])
    return arns


def physical_resource_id(created_roles):
    names = [name for name in ROLE_ORDER if name in set(created_roles)]
    return ID_PREFIX + (",".join(names) or NO_ROLES)


def recorded_roles(physical_id):
    """The role names a PhysicalResourceId of ours records as created (in ROLE_ORDER); [] for any other id."""
    if not isinstance(physical_id, str) or not physical_id.startswith(ID_PREFIX):
        return []
    listed = set(physical_id[len(ID_PREFIX):].split(","))
    return [name for name in ROLE_ORDER if name in listed]


# ---------------------------------------------------------------------------------------------
# CloudFormation plumbing.
# ---------------------------------------------------------------------------------------------

def handler(event, context):
    request_type = event.get("RequestType")
    _log("info", "request received", request_type=request_type,
         logical_resource_id=event.get("LogicalResourceId"), physical_resource_id=event.get("PhysicalResourceId"))
    if request_type == "Delete":
        # The roles are shared by the whole account: whoever created them, they stay (see the module docstring).
        physical_id = event.get("PhysicalResourceId") or physical_resource_id([])
        _log("info", "account-level roles are kept in the account", recorded_as_created=recorded_roles(physical_id))
        return send_response(event, "SUCCESS", physical_id)
    if request_type not in ("Create", "Update"):
        reason = f"Unsupported RequestType {request_type!r}"
        _log("error", reason)
        return send_response(event, "FAILED", event.get("PhysicalResourceId") or physical_resource_id([]),
                             reason=reason)
    return _create_or_update(event, context)


def _create_or_update(event, context):
    is_update = event["RequestType"] == "Update"
    old_id = event.get("PhysicalResourceId") if is_update else None
    previously = recorded_roles(old_id)
    properties = event.get("ResourceProperties") or {}
    try:
        create_dms = _bool_property(properties, "CreateDmsRoles")
        create_opensearch = _bool_property(properties, "CreateOpenSearchServiceLinkedRole")
        wait_seconds = _wait_property(properties)
        result = ensure_prerequisites(_client("iam"), create_dms, create_opensearch,
                                      partition=_partition(event), description=_role_description(event))
    except Exception as err:
        progress = err.progress if isinstance(err, PrerequisiteError) else Prerequisites()
        if isinstance(err, (PrerequisiteError, ValueError)):
            detail = str(err)
        else:
            detail = f"unexpected error: {err!r}"
        reason = f"Could not set up the account prerequisites for DMS/OpenSearch: {detail}"
        _log("error", reason, request_type=event["RequestType"], created=progress.created)
        # A failed Create records what it did create (the roles stay; the id only reports them).
        # A failed Update keeps the old id, so CloudFormation sees no replacement.
        physical_id = old_id if is_update and old_id else physical_resource_id(progress.created)
        return send_response(event, "FAILED", physical_id, reason=_with_log_stream(reason, context))

    created = [name for name in ROLE_ORDER if name in previously or name in result.created]
    if is_update and old_id and set(result.created) <= set(previously):
        physical_id = old_id  # unchanged id: a plain update, never a replacement
    else:
        physical_id = physical_resource_id(created)
    data = {
        "CreatedRoles": ",".join(created),
        "ExistingRoles": ",".join(name for name in ROLE_ORDER if name in result.existing and name not in created),
    }
    if result.changed:
        try:
            _wait_for_propagation(_client("iam"), result.created_names, wait_seconds, context)
        except PropagationTimeout as err:
            reason = f"Could not set up the account prerequisites for DMS/OpenSearch: {err}"
            _log("error", reason, request_type=event["RequestType"], created=result.created)
            physical_id = old_id if is_update and old_id else physical_resource_id(result.created)
            return send_response(event, "FAILED", physical_id, reason=_with_log_stream(reason, context))
    _log("info", "account prerequisites ready", created_now=result.created, existing=result.existing,
         policies_attached=result.policies_attached, physical_resource_id=physical_id)
    return send_response(event, "SUCCESS", physical_id, data=data)


def send_response(event, status, physical_id, data=None, reason=None):
    """PUT the response document to the pre-signed ResponseURL; returns the document sent."""
    body = {
        "Status": status,
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "Data": data or {},
    }
    if reason:
        body["Reason"] = reason[:MAX_REASON_CHARS]
    payload = json.dumps(body).encode("utf-8")
    url = event.get("ResponseURL") or ""
    if not url.lower().startswith(("https://", "http://")):
        _log("error", "no usable ResponseURL; CloudFormation cannot be answered", status=status)
        return body
    for attempt in range(1, RESPONSE_ATTEMPTS + 1):
        request = urllib.request.Request(url, data=payload, method="PUT",
                                         headers={"Content-Type": "", "Content-Length": str(len(payload))})
        try:
            with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:
                _log("info", "response sent", status=status, http_status=response.status)
                return body
        except (urllib.error.URLError, OSError) as err:
            _log("warning", "sending the response failed", attempt=attempt, error=repr(err))
            if attempt < RESPONSE_ATTEMPTS:
                time.sleep(attempt)
    _log("error", "could not send the response to CloudFormation", status=status)
    return body


def _bool_property(properties, name):
    value = properties.get(name, "true")
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"{name} must be 'true' or 'false', got {value!r}")


def _wait_property(properties):
    value = properties.get("PropagationWaitSeconds", DEFAULT_WAIT_SECONDS)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0:  # also rejects NaN
        raise ValueError(f"PropagationWaitSeconds must be a number of seconds >= 0, got {value!r}")
    return seconds


class PropagationTimeout(Exception):
    """IAM did not return a created role within the propagation bound."""


def _monotonic():
    # A seam for the tests' fake clock.
    return time.monotonic()


def propagation_budget(context):
    """Seconds that polling and settling may take: MAX_PROPAGATION_SECONDS, less when the function has less left."""
    budget = MAX_PROPAGATION_SECONDS
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, max(0.0, remaining() / 1000.0 - RESPONSE_TIME_RESERVE_SECONDS))
    return budget


def wait_until_readable(iam, role_names, budget_seconds):
    """Poll iam:GetRole until every name is returned; returns the seconds used or raises PropagationTimeout."""
    start = _monotonic()
    pending = list(role_names)
    while True:
        pending = [name for name in pending if not _role_exists(iam, name)]
        elapsed = _monotonic() - start
        if not pending:
            return elapsed
        if elapsed + POLL_INTERVAL_SECONDS > budget_seconds:
            raise PropagationTimeout(
                f"IAM did not return the created role(s) {', '.join(pending)} within {budget_seconds:g} s; "
                "the roles stay in the account, so deploying again will find them")
        time.sleep(POLL_INTERVAL_SECONDS)


def _wait_for_propagation(iam, created_names, settle_seconds, context):
    budget = propagation_budget(context)
    used = wait_until_readable(iam, created_names, budget) if created_names else 0.0
    settle = min(settle_seconds, max(0.0, budget - used))
    if settle < settle_seconds:
        _log("warning", "settle period shortened to fit the function timeout", wanted=settle_seconds, waiting=settle)
    if settle > 0:
        _log("info", "waiting for IAM changes to propagate", seconds=settle, polled_seconds=used)
        time.sleep(settle)


def _partition(event):
    parts = str(event.get("StackId", "")).split(":")
    return parts[1] if len(parts) > 5 and parts[0] == "arn" and parts[1] else "aws"


def _role_description(event):
    parts = str(event.get("StackId", "")).split(":")
    stack_name = parts[5].split("/")[1] if len(parts) > 5 and parts[5].count("/") >= 2 else ""
    origin = f" (stack {stack_name})" if stack_name else ""
    return f"Account-level DMS prerequisite, created by the cdk-migration-pipeline{origin}"


def _with_log_stream(reason, context):
    stream = getattr(context, "log_stream_name", None)
    return f"{reason} (CloudWatch log stream {stream})" if stream else reason


def _client(service):
    return boto3.client(service, config=CLIENT_CONFIG)


def _error_code(err):
    return err.response.get("Error", {}).get("Code", "")


def _log(level, message, **fields):
    print(json.dumps({"level": level, "handler": HANDLER_NAME, "message": message, **fields}, default=str))
