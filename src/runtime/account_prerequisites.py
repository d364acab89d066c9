"""Make sure the account-level IAM roles DMS and a VPC OpenSearch domain need exist before they are used.

CloudFormation custom resource (Lambda-backed). Runs inline as index.handler, so it only uses the
standard library and boto3, and it answers CloudFormation itself with a PUT to event["ResponseURL"].

  dms-vpc-role              trusts dms.amazonaws.com, policy service-role/AmazonDMSVPCManagementRole
  dms-cloudwatch-logs-role  trusts dms.amazonaws.com, policy service-role/AmazonDMSCloudWatchLogsRole
  AWSServiceRoleForAmazonOpenSearchService  the service-linked role of opensearchservice.amazonaws.com

DMS looks these roles up by their fixed names, so they are shared by everything in the account: the
resource only creates what is missing and only ever deletes a role it created itself.

ResourceProperties (strings, as CloudFormation passes them):
  CreateDmsRoles                     "true" / "false" (default "true")
  CreateOpenSearchServiceLinkedRole  "true" / "false" (default "true")
  PropagationWaitSeconds             seconds to wait after changing anything, because IAM is eventually
                                     consistent and DMS/OpenSearch may not see a brand-new role yet
                                     (default "10"; capped so the answer still goes out before the timeout)

PhysicalResourceId: "account-prerequisites:<roles this resource created, comma-separated, or none>".
Data: CreatedRoles and ExistingRoles, both comma-separated role names ("" when there are none).

Create/Update: FAILED with a clear Reason on any error (the roles are real prerequisites, so a loud failure
here beats an obscure one from DMS or OpenSearch later). Delete: always SUCCESS; errors are logged.
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
            # Recorded before the policy is attached, so a failure below still leaves a record that
            # lets the rollback's Delete remove the role again.
            result.created.append(name)
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
        iam.create_service_linked_role(AWSServiceName=OPENSEARCH_SERVICE)
    except ClientError as err:
        if not _service_linked_role_taken(err):
            raise
        _log("info", "role was created concurrently; treating it as existing", role=OPENSEARCH_ROLE)
        result.existing.append(OPENSEARCH_ROLE)
        return
    result.created.append(OPENSEARCH_ROLE)


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


def delete_prerequisites(iam, role_names):
    """Delete the given DMS roles (detaching their managed policies first); returns the names deleted.

    Only names from DMS_ROLES are ever touched. The OpenSearch service-linked role is never deleted:
    any VPC domain in the account (not only ours) may still depend on it, and IAM itself refuses to
    delete it while a domain uses it, so it stays behind like any account-level setting.
    Errors are logged and skipped; deleting is best effort.
    """
    deleted = []
    for name in role_names:
        if name not in DMS_ROLES:
            continue
        try:
            for arn in sorted(_attached_policy_arns(iam, name)):
                iam.detach_role_policy(RoleName=name, PolicyArn=arn)
            iam.delete_role(RoleName=name)
        except ClientError as err:
            if _error_code(err) == "NoSuchEntity":
                _log("info", "role was already gone", role=name)
                continue
            _log("warning", "could not delete role; leaving it in place", role=name, error=str(err))
            continue
        deleted.append(name)
    return deleted


def physical_resource_id(created_roles):
    names = [name for name in ROLE_ORDER if name in set(created_roles)]
    return ID_PREFIX + (",".join(names) or NO_ROLES)


def recorded_roles(physical_id):
    """The role names a PhysicalResourceId of ours records as created (in ROLE_ORDER); [] for any other id."""
    if not isinstance(physical_id, str) or not physical_id.startswith(ID_PREFIX):
        return []
    listed = set(physical_id[len(ID_PREFIX):].split(","))
    return [name for name in ROLE_ORDER if name in listed]


def current_physical_resource_id(cloudformation, stack_id, logical_id):
    """The PhysicalResourceId the stack currently holds for this resource (None when it holds none)."""
    detail = cloudformation.describe_stack_resource(StackName=stack_id, LogicalResourceId=logical_id)
    return detail["StackResourceDetail"].get("PhysicalResourceId") or None


# ---------------------------------------------------------------------------------------------
# CloudFormation plumbing.
# ---------------------------------------------------------------------------------------------

def handler(event, context):
    request_type = event.get("RequestType")
    _log("info", "request received", request_type=request_type,
         logical_resource_id=event.get("LogicalResourceId"), physical_resource_id=event.get("PhysicalResourceId"))
    if request_type == "Delete":
        physical_id = event.get("PhysicalResourceId") or physical_resource_id([])
        try:
            _delete(event)
        except Exception as err:  # Delete must never fail the stack; the leftovers are harmless roles
            _log("warning", "delete did not complete; leaving the remaining roles in place", error=repr(err))
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
        # A failed Create records what it did create, so the rollback's Delete removes exactly that.
        # A failed Update keeps the old id: changing it would make CloudFormation delete the old
        # "resource" (and with it the roles the old id records) during cleanup.
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
        _wait_for_propagation(wait_seconds, context)
    _log("info", "account prerequisites ready", created_now=result.created, existing=result.existing,
         policies_attached=result.policies_attached, physical_resource_id=physical_id)
    return send_response(event, "SUCCESS", physical_id, data=data)


def _delete(event):
    physical_id = event.get("PhysicalResourceId")
    deletable = [name for name in recorded_roles(physical_id) if name in DMS_ROLES]
    if not deletable:
        _log("info", "no role of ours to delete", physical_resource_id=physical_id)
        return
    # An Update that returns a new PhysicalResourceId (because it created another role) makes
    # CloudFormation send a Delete for the old id during cleanup, while the new id still records the
    # same roles. Only roles the stack no longer records anywhere may go.
    try:
        current = current_physical_resource_id(_client("cloudformation"), event["StackId"], event["LogicalResourceId"])
    except Exception as err:
        _log("warning", "could not tell whether this Delete is a replacement cleanup; deleting nothing",
             error=repr(err), physical_resource_id=physical_id)
        return
    if current and current != physical_id:
        still_recorded = set(recorded_roles(current))
        deletable = [name for name in deletable if name not in still_recorded]
    deleted = delete_prerequisites(_client("iam"), deletable)
    _log("info", "deleted roles this resource had created", deleted=deleted, physical_resource_id=physical_id)


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


def _wait_for_propagation(seconds, context):
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = max(0.0, remaining() / 1000.0 - RESPONSE_TIME_RESERVE_SECONDS)
        if seconds > budget:
            _log("warning", "propagation wait shortened to fit the function timeout", wanted=seconds, waiting=budget)
            seconds = budget
    if seconds > 0:
        _log("info", "waiting for IAM changes to propagate", seconds=seconds)
        time.sleep(seconds)


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
