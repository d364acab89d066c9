"""account_prerequisites: the custom resource that creates the DMS roles and the OpenSearch service-linked role.

Runs against moto's IAM (with the AWS managed policies loaded, so the DMS policies can be attached).
Two gaps in moto are covered with a botocore Stubber for exactly those calls:
  * moto names the OpenSearch service-linked role "AWSServiceRoleForopensearchservice" instead of
    "AWSServiceRoleForAmazonOpenSearchService", and answers a second CreateServiceLinkedRole with
    EntityAlreadyExists instead of IAM's InvalidInput "... has been taken ...";
  * moto cannot describe the custom resource of a real stack, which Delete looks up.
"""

import ast
import datetime
import json
import os
import sys
import time
from pathlib import Path

# Own setup, independent of conftest: handler on sys.path, fixed region, fake credentials.
RUNTIME_DIR = Path(__file__).resolve().parents[2] / "src" / "runtime"
sys.path.insert(0, str(RUNTIME_DIR))
os.environ["AWS_DEFAULT_REGION"] = "us-west-2"
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
    os.environ[_name] = "testing"
os.environ.pop("AWS_PROFILE", None)

import boto3  # noqa: E402
import pytest  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from botocore.stub import Stubber  # noqa: E402
from moto import mock_aws  # noqa: E402

import account_prerequisites as ap  # noqa: E402
from pipeline_helpers import cloudformation_response_url  # noqa: E402

REGION = "us-west-2"
ACCOUNT = "123456789012"  # moto's default account
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/migration-pipeline-dev/5b918d10-cd98-11ea-90d5-0a9cd3354c10"
LOGICAL_ID = "AccountPrerequisites"
VPC_ROLE = "dms-vpc-role"
LOGS_ROLE = "dms-cloudwatch-logs-role"
SLR = "AWSServiceRoleForAmazonOpenSearchService"
SLR_PATH = "/aws-service-role/opensearchservice.amazonaws.com/"
VPC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"
LOGS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole"
DMS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "dms.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
DESCRIPTION = "Account-level DMS prerequisite, created by the cdk-migration-pipeline (stack migration-pipeline-dev)"
TAKEN_MESSAGE = (f"Service role name {SLR} has been taken in this account, please try a different suffix.")


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture(scope="module")
def moto_iam():
    # The DMS managed policies only exist in moto when it loads the AWS managed policies, which takes
    # over a second; so one moto IAM serves the whole module and each test leaves it without roles.
    with mock_aws(config={"iam": {"load_aws_managed_policies": True}}):
        yield boto3.client("iam", region_name=REGION)


@pytest.fixture
def iam(moto_iam):
    """A fresh client per test (tests patch its methods) over the shared moto IAM, emptied afterwards."""
    assert moto_iam.list_roles()["Roles"] == []
    yield boto3.client("iam", region_name=REGION)
    for role in moto_iam.list_roles()["Roles"]:
        for policy in moto_iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]:
            moto_iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=policy["PolicyArn"])
        moto_iam.delete_role(RoleName=role["RoleName"])


@pytest.fixture
def cloudformation():
    """A Stubber-backed CloudFormation client (moto cannot describe our custom resource)."""
    client = boto3.client("cloudformation", region_name=REGION)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def clients(iam, cloudformation, monkeypatch):
    """Route the handler's clients to moto's IAM and the stubbed CloudFormation client."""
    by_service = {"iam": iam, "cloudformation": cloudformation.client}
    monkeypatch.setattr(ap, "_client", lambda service: by_service[service])
    return by_service


@pytest.fixture
def response_server():
    """A local stand-in for the pre-signed S3 URL CloudFormation hands the function."""
    with cloudformation_response_url() as server:
        yield server


class FakeClock:
    """Time that passes only when the handler sleeps: no test really waits."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(time, "sleep", fake.sleep)
    monkeypatch.setattr(ap, "_monotonic", fake.monotonic)
    return fake


@pytest.fixture
def sleeps(clock):
    return clock.sleeps


def cfn_event(request_type, url, physical_id=None, dms="true", opensearch="true", wait="0", old_properties=None):
    event = {
        "RequestType": request_type,
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:account-prerequisites",
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": f"{request_type.lower()}-request-0001",
        "ResourceType": "Custom::AccountPrerequisites",
        "LogicalResourceId": LOGICAL_ID,
        "ResourceProperties": {
            "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:account-prerequisites",
            "CreateDmsRoles": dms,
            "CreateOpenSearchServiceLinkedRole": opensearch,
            "PropagationWaitSeconds": wait,
        },
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = old_properties
    return event


class LambdaContext:
    """The parts of the Lambda context object the handler reads."""

    def __init__(self, remaining_ms, log_stream_name="2024/06/01/[$LATEST]abc"):
        self.remaining_ms = remaining_ms
        self.log_stream_name = log_stream_name

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def invoke(event, server, context=None):
    """Run the handler and return the one JSON document it PUT to the response URL."""
    before = len(server.received)
    ap.handler(event, context)
    assert len(server.received) == before + 1
    return json.loads(server.received[-1]["body"])


def expected_body(event, status, physical_id, data=None, reason=None):
    body = {
        "Status": status,
        "PhysicalResourceId": physical_id,
        "StackId": STACK_ID,
        "RequestId": event["RequestId"],
        "LogicalResourceId": LOGICAL_ID,
        "Data": data if data is not None else {},
    }
    if reason is not None:
        body["Reason"] = reason
    return body


def expect_describe(stubber, physical_id):
    stubber.add_response(
        "describe_stack_resource",
        {"StackResourceDetail": {
            "StackName": "migration-pipeline-dev", "StackId": STACK_ID, "LogicalResourceId": LOGICAL_ID,
            "PhysicalResourceId": physical_id, "ResourceType": "Custom::AccountPrerequisites",
            "LastUpdatedTimestamp": datetime.datetime(2024, 6, 1, tzinfo=datetime.timezone.utc),
            "ResourceStatus": "DELETE_IN_PROGRESS",
        }},
        {"StackName": STACK_ID, "LogicalResourceId": LOGICAL_ID},
    )


def make_dms_role(iam, name, policy_arn=None):
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(DMS_TRUST), Description="made by hand")
    if policy_arn:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return iam.get_role(RoleName=name)["Role"]["RoleId"]


def make_opensearch_slr(iam):
    # moto's create_service_linked_role would use the wrong name; the real name and path are made directly.
    iam.create_role(RoleName=SLR, Path=SLR_PATH, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "opensearchservice.amazonaws.com"},
                       "Action": "sts:AssumeRole"}],
    }))


def role_names(iam):
    return sorted(role["RoleName"] for role in iam.list_roles()["Roles"])


def attached(iam, name):
    return [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]


def slr_in_moto(iam):
    """The service-linked roles moto holds for OpenSearch, as (path, trusted services)."""
    def services(role):
        found = []
        for statement in role["AssumeRolePolicyDocument"]["Statement"]:
            service = statement["Principal"]["Service"]
            found += service if isinstance(service, list) else [service]
        return found

    return [(role["Path"], services(role)) for role in iam.list_roles(PathPrefix=SLR_PATH)["Roles"]]


class StubbedForSome:
    """An IAM client whose listed operations go to a Stubber; every other call goes to `real`."""

    def __init__(self, real, operations):
        self._real = real
        self._operations = set(operations)
        self._stubbed = boto3.client("iam", region_name=REGION)
        self.stubber = Stubber(self._stubbed)
        self.stubber.activate()

    def __getattr__(self, name):
        return getattr(self._stubbed if name in self._operations else self._real, name)


def slr_response():
    return {"Role": {
        "Path": SLR_PATH, "RoleName": SLR, "RoleId": "AROAEXAMPLESLR000001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role{SLR_PATH}{SLR}",
        "CreateDate": datetime.datetime(2024, 6, 1, tzinfo=datetime.timezone.utc),
    }}


# ---------------------------------------------------------------------------------------------
# Creating what is missing
# ---------------------------------------------------------------------------------------------

def test_missing_roles_are_all_created_with_their_trust_and_policies(iam):
    result = ap.ensure_prerequisites(iam, True, True, partition="aws", description=DESCRIPTION)

    assert (result.created, result.existing, result.policies_attached) == ([VPC_ROLE, LOGS_ROLE, SLR], [], [])
    for name, policy in ((VPC_ROLE, VPC_POLICY), (LOGS_ROLE, LOGS_POLICY)):
        role = iam.get_role(RoleName=name)["Role"]
        assert role["Path"] == "/"
        assert role["AssumeRolePolicyDocument"] == DMS_TRUST
        assert role["Description"] == DESCRIPTION
        assert attached(iam, name) == [policy]
    # The service-linked role under moto's own (wrong) name, hence checked by path and trusted service.
    assert slr_in_moto(iam) == [(SLR_PATH, ["opensearchservice.amazonaws.com"])]


def test_service_linked_role_is_requested_for_the_opensearch_service_principal():
    # Stubbed: checks the exact request and the real name, which moto does not reproduce.
    iam = StubbedForSome(None, {"get_role", "create_service_linked_role"})
    iam.stubber.add_client_error("get_role", "NoSuchEntity", f"The role with name {SLR} cannot be found.",
                                 404, expected_params={"RoleName": SLR})
    iam.stubber.add_response("create_service_linked_role", slr_response(),
                             {"AWSServiceName": "opensearchservice.amazonaws.com"})

    result = ap.ensure_prerequisites(iam, False, True)

    assert (result.created, result.existing, result.policies_attached) == ([SLR], [], [])
    iam.stubber.assert_no_pending_responses()


def test_roles_that_exist_are_left_alone_and_the_id_says_none(clients, response_server, sleeps):
    iam = clients["iam"]
    vpc_id = make_dms_role(iam, VPC_ROLE, VPC_POLICY)
    logs_id = make_dms_role(iam, LOGS_ROLE, LOGS_POLICY)
    make_opensearch_slr(iam)
    event = cfn_event("Create", response_server.url)

    body = invoke(event, response_server)

    assert body == expected_body(event, "SUCCESS", "account-prerequisites:none",
                                 {"CreatedRoles": "", "ExistingRoles": f"{VPC_ROLE},{LOGS_ROLE},{SLR}"})
    assert role_names(iam) == [SLR, LOGS_ROLE, VPC_ROLE]
    assert iam.get_role(RoleName=VPC_ROLE)["Role"]["RoleId"] == vpc_id
    assert iam.get_role(RoleName=LOGS_ROLE)["Role"]["RoleId"] == logs_id
    assert iam.get_role(RoleName=VPC_ROLE)["Role"]["Description"] == "made by hand"
    assert sleeps == []


def test_existing_role_without_its_policy_gets_the_policy_and_is_not_recreated(iam):
    vpc_id = make_dms_role(iam, VPC_ROLE)  # no policy

    result = ap.ensure_prerequisites(iam, True, False, description=DESCRIPTION)

    assert (result.created, result.existing, result.policies_attached) == ([LOGS_ROLE], [VPC_ROLE], [VPC_ROLE])
    assert attached(iam, VPC_ROLE) == [VPC_POLICY]
    assert attached(iam, LOGS_ROLE) == [LOGS_POLICY]
    vpc = iam.get_role(RoleName=VPC_ROLE)["Role"]
    assert (vpc["RoleId"], vpc["Description"]) == (vpc_id, "made by hand")


def test_policy_arns_follow_the_partition():
    iam = StubbedForSome(None, {"get_role", "get_paginator", "attach_role_policy"})
    stub = iam.stubber
    stub.add_response("get_role", {"Role": {
        "Path": "/", "RoleName": VPC_ROLE, "RoleId": "AROAEXAMPLEVPC000001",
        "Arn": f"arn:aws-cn:iam::{ACCOUNT}:role/{VPC_ROLE}",
        "CreateDate": datetime.datetime(2024, 6, 1, tzinfo=datetime.timezone.utc)}}, {"RoleName": VPC_ROLE})
    stub.add_response("list_attached_role_policies", {"AttachedPolicies": []}, {"RoleName": VPC_ROLE})
    stub.add_response("attach_role_policy", {}, {
        "RoleName": VPC_ROLE, "PolicyArn": "arn:aws-cn:iam::aws:policy/service-role/AmazonDMSVPCManagementRole"})
    stub.add_client_error("get_role", "AccessDenied", "not authorized to perform iam:GetRole", 403,
                          expected_params={"RoleName": LOGS_ROLE})

    with pytest.raises(ap.PrerequisiteError) as raised:
        ap.ensure_prerequisites(iam, True, False, partition="aws-cn")

    assert str(raised.value) == f"{LOGS_ROLE}: GetRole failed with AccessDenied: not authorized to perform iam:GetRole"
    assert raised.value.progress.policies_attached == [VPC_ROLE]
    stub.assert_no_pending_responses()


# ---------------------------------------------------------------------------------------------
# Concurrent creation
# ---------------------------------------------------------------------------------------------

def test_role_created_concurrently_counts_as_existing(iam, monkeypatch):
    real_create_role = iam.create_role
    raced = []

    def create_role_losing_the_race(**kwargs):
        if not raced:
            raced.append(kwargs["RoleName"])
            real_create_role(RoleName=kwargs["RoleName"], AssumeRolePolicyDocument=json.dumps(DMS_TRUST),
                             Description="made by the winner")
            raise ClientError({"Error": {"Code": "EntityAlreadyExists",
                                         "Message": f"Role with name {kwargs['RoleName']} already exists."}},
                              "CreateRole")
        return real_create_role(**kwargs)

    monkeypatch.setattr(iam, "create_role", create_role_losing_the_race)

    result = ap.ensure_prerequisites(iam, True, False, description=DESCRIPTION)

    assert raced == [VPC_ROLE]
    assert (result.created, result.existing, result.policies_attached) == ([LOGS_ROLE], [VPC_ROLE], [VPC_ROLE])
    assert iam.get_role(RoleName=VPC_ROLE)["Role"]["Description"] == "made by the winner"
    assert attached(iam, VPC_ROLE) == [VPC_POLICY]
    assert ap.physical_resource_id(result.created) == f"account-prerequisites:{LOGS_ROLE}"


def test_service_linked_role_taken_concurrently_counts_as_existing():
    # Stubbed: real IAM reports an existing service-linked role as InvalidInput "has been taken".
    iam = StubbedForSome(None, {"get_role", "create_service_linked_role"})
    iam.stubber.add_client_error("get_role", "NoSuchEntity", "not found", 404, expected_params={"RoleName": SLR})
    iam.stubber.add_client_error("create_service_linked_role", "InvalidInput", TAKEN_MESSAGE, 400,
                                 expected_params={"AWSServiceName": "opensearchservice.amazonaws.com"})

    result = ap.ensure_prerequisites(iam, False, True)

    assert (result.created, result.existing, result.policies_attached) == ([], [SLR], [])
    iam.stubber.assert_no_pending_responses()


def test_other_invalid_input_for_the_service_linked_role_is_an_error():
    iam = StubbedForSome(None, {"get_role", "create_service_linked_role"})
    iam.stubber.add_client_error("get_role", "NoSuchEntity", "not found", 404)
    iam.stubber.add_client_error("create_service_linked_role", "InvalidInput", "Invalid service name", 400)

    with pytest.raises(ap.PrerequisiteError) as raised:
        ap.ensure_prerequisites(iam, False, True)

    assert str(raised.value) == f"{SLR}: CreateServiceLinkedRole failed with InvalidInput: Invalid service name"
    assert raised.value.progress.created == []


# ---------------------------------------------------------------------------------------------
# Propagation wait
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("existing, expected_sleeps", [
    ((), [7.0]),  # everything created
    (("vpc-without-policy", "logs", "slr"), [7.0]),  # only a policy attached: still a change to wait for
    (("vpc", "logs", "slr"), []),  # nothing changed: no wait
])
def test_waits_for_propagation_only_after_a_change(clients, response_server, sleeps, existing, expected_sleeps):
    iam = clients["iam"]
    if "vpc" in existing:
        make_dms_role(iam, VPC_ROLE, VPC_POLICY)
    if "vpc-without-policy" in existing:
        make_dms_role(iam, VPC_ROLE)
    if "logs" in existing:
        make_dms_role(iam, LOGS_ROLE, LOGS_POLICY)
    if "slr" in existing:
        make_opensearch_slr(iam)

    body = invoke(cfn_event("Create", response_server.url, wait="7"), response_server)

    assert body["Status"] == "SUCCESS"
    assert sleeps == expected_sleeps


def test_zero_wait_never_sleeps(clients, response_server, sleeps):
    body = invoke(cfn_event("Create", response_server.url, wait="0"), response_server)

    assert body["PhysicalResourceId"] == f"account-prerequisites:{VPC_ROLE},{LOGS_ROLE},{SLR}"
    assert sleeps == []


def test_wait_is_shortened_to_leave_time_for_the_response(clients, response_server, sleeps):
    context = LambdaContext(remaining_ms=30_000)

    invoke(cfn_event("Create", response_server.url, wait="60"), response_server, context)

    assert sleeps == [10.0]  # 30 s left minus the 20 s kept for answering CloudFormation


def test_default_wait_is_ten_seconds(clients, response_server, sleeps):
    event = cfn_event("Create", response_server.url, dms="false")
    del event["ResourceProperties"]["PropagationWaitSeconds"]

    invoke(event, response_server)

    assert sleeps == [10.0]


# ---------------------------------------------------------------------------------------------
# Waiting until the created roles are usable: poll iam:GetRole, then settle, all bounded
# (IAM User Guide, "Troubleshooting IAM": changes are eventually consistent and may take time to be visible;
# OpenSearch Service Developer Guide, "Using service-linked roles": a VPC domain needs the role to exist).
# ---------------------------------------------------------------------------------------------

class LateRoles:
    """Wraps moto's get_role so that the named roles read as missing until the fake clock reaches `visible_at`."""

    def __init__(self, iam, clock, visible_at, names):
        self.real_get_role = iam.get_role
        self.clock, self.visible_at, self.names = clock, visible_at, set(names)
        self.polled = []

    def __call__(self, **kwargs):
        name = kwargs["RoleName"]
        self.polled.append((self.clock.now, name))
        if name in self.names and self.clock.now < self.visible_at:
            raise ClientError({"Error": {"Code": "NoSuchEntity", "Message": f"The role with name {name} cannot be found."}},
                              "GetRole")
        return self.real_get_role(**kwargs)


def moto_slr_name(iam):
    return [role["RoleName"] for role in iam.list_roles(PathPrefix=SLR_PATH)["Roles"]]


def test_a_role_iam_returns_late_is_polled_for_before_the_settle_period(clients, response_server, clock, monkeypatch):
    iam = clients["iam"]
    # The service-linked role is polled under the name IAM answered with (moto's own name here).
    late = LateRoles(iam, clock, visible_at=clock.now + 5, names=[VPC_ROLE, "AWSServiceRoleForopensearchservice"])
    monkeypatch.setattr(iam, "get_role", late)

    body = invoke(cfn_event("Create", response_server.url, wait="10"), response_server)

    assert body["Status"] == "SUCCESS"
    # Three polls 2 s apart (missing at +0, +2, +4; found at +6), then the 10 s settle period.
    assert clock.sleeps == [2.0, 2.0, 2.0, 10.0]
    assert moto_slr_name(iam) == ["AWSServiceRoleForopensearchservice"]
    polls_after_create = [name for at, name in late.polled if name == "AWSServiceRoleForopensearchservice"]
    assert len(polls_after_create) == 4


def test_a_role_iam_never_returns_fails_within_the_bound_with_a_reason(clients, response_server, clock, monkeypatch):
    iam = clients["iam"]
    monkeypatch.setattr(iam, "get_role", LateRoles(iam, clock, visible_at=float("inf"), names=[LOGS_ROLE]))

    context = LambdaContext(remaining_ms=120_000)  # the function's whole 2-minute timeout

    event = cfn_event("Create", response_server.url, opensearch="false", wait="10")
    body = invoke(event, response_server, context)

    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == f"account-prerequisites:{VPC_ROLE},{LOGS_ROLE}"
    assert body["Reason"] == (
        "Could not set up the account prerequisites for DMS/OpenSearch: IAM did not return the created role(s) "
        f"{LOGS_ROLE} within 90 s; the roles stay in the account, so deploying again will find them "
        "(CloudWatch log stream 2024/06/01/[$LATEST]abc)")
    # Bounded: never past 90 s, which leaves 30 s of the 120 s timeout for the answer.
    assert sum(clock.sleeps) <= ap.MAX_PROPAGATION_SECONDS
    assert set(clock.sleeps) == {ap.POLL_INTERVAL_SECONDS}
    assert role_names(iam) == [LOGS_ROLE, VPC_ROLE]  # what was created stays


def test_the_bound_shrinks_with_the_time_the_function_has_left(clients, response_server, clock, monkeypatch):
    iam = clients["iam"]
    monkeypatch.setattr(iam, "get_role", LateRoles(iam, clock, visible_at=float("inf"), names=[VPC_ROLE]))

    context = LambdaContext(remaining_ms=30_000, log_stream_name="s")

    body = invoke(cfn_event("Create", response_server.url, opensearch="false"), response_server, context)

    assert body["Status"] == "FAILED"
    assert "within 10 s" in body["Reason"]
    assert sum(clock.sleeps) <= 10


def test_polling_uses_a_fraction_of_the_budget_and_the_settle_period_the_rest(clients, response_server, clock,
                                                                               monkeypatch):
    iam = clients["iam"]
    monkeypatch.setattr(iam, "get_role", LateRoles(iam, clock, visible_at=clock.now + 85, names=[VPC_ROLE]))

    body = invoke(cfn_event("Create", response_server.url, opensearch="false", wait="10"), response_server)

    assert body["Status"] == "SUCCESS"
    assert clock.sleeps[:-1] == [2.0] * 43  # found at +86 s
    assert clock.sleeps[-1] == 4.0  # the settle period, cut to what is left of the 90 s
    assert sum(clock.sleeps) == ap.MAX_PROPAGATION_SECONDS


def test_the_bound_and_the_answer_fit_in_the_function_timeout():
    from template_loader import load_template, resources_of_type

    functions = [fn for fn in resources_of_type(load_template("TapStack"), "AWS::Lambda::Function").values()
                 if "account_prerequisites" in json.dumps(fn["Properties"]["Code"]) or "dms-vpc-role" in
                 json.dumps(fn["Properties"]["Code"])]
    assert len(functions) == 1
    timeout = functions[0]["Properties"]["Timeout"]
    assert ap.MAX_PROPAGATION_SECONDS + ap.RESPONSE_TIME_RESERVE_SECONDS < timeout


# ---------------------------------------------------------------------------------------------
# Update
# ---------------------------------------------------------------------------------------------

def test_update_keeps_previously_created_roles_in_the_id(clients, response_server, sleeps):
    iam = clients["iam"]
    make_dms_role(iam, LOGS_ROLE, LOGS_POLICY)  # created by this resource on Create
    make_opensearch_slr(iam)  # was there before
    event = cfn_event("Update", response_server.url, physical_id=f"account-prerequisites:{LOGS_ROLE}")

    body = invoke(event, response_server)

    assert body == expected_body(event, "SUCCESS", f"account-prerequisites:{VPC_ROLE},{LOGS_ROLE}",
                                 {"CreatedRoles": f"{VPC_ROLE},{LOGS_ROLE}", "ExistingRoles": SLR})
    assert attached(iam, VPC_ROLE) == [VPC_POLICY]


def test_update_that_creates_nothing_keeps_the_id_unchanged(clients, response_server, sleeps):
    iam = clients["iam"]
    make_dms_role(iam, VPC_ROLE, VPC_POLICY)
    make_dms_role(iam, LOGS_ROLE, LOGS_POLICY)
    old_id = f"account-prerequisites:{VPC_ROLE},{LOGS_ROLE}"
    # The old id still records the DMS roles even though this update stops asking for them.
    event = cfn_event("Update", response_server.url, physical_id=old_id, dms="false", opensearch="false")

    body = invoke(event, response_server)

    assert body == expected_body(event, "SUCCESS", old_id, {"CreatedRoles": f"{VPC_ROLE},{LOGS_ROLE}",
                                                            "ExistingRoles": ""})
    assert sleeps == []


def test_failed_update_keeps_the_old_id(clients, response_server, monkeypatch):
    iam = clients["iam"]

    def create_role(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to perform iam:CreateRole"}},
                          "CreateRole")

    monkeypatch.setattr(iam, "create_role", create_role)
    old_id = f"account-prerequisites:{SLR}"
    event = cfn_event("Update", response_server.url, physical_id=old_id, opensearch="false")

    body = invoke(event, response_server)

    assert body == expected_body(
        event, "FAILED", old_id,
        reason="Could not set up the account prerequisites for DMS/OpenSearch: "
               f"{VPC_ROLE}: CreateRole failed with AccessDenied: not authorized to perform iam:CreateRole")


# ---------------------------------------------------------------------------------------------
# Create failures
# ---------------------------------------------------------------------------------------------

def test_create_failure_reports_a_reason_and_records_what_it_did_create(clients, response_server, monkeypatch,
                                                                        capsys):
    iam = clients["iam"]
    real_create_role = iam.create_role

    def create_role(**kwargs):
        if kwargs["RoleName"] == LOGS_ROLE:
            raise ClientError({"Error": {"Code": "LimitExceeded", "Message": "Cannot exceed quota for RolesPerAccount"}},
                              "CreateRole")
        return real_create_role(**kwargs)

    monkeypatch.setattr(iam, "create_role", create_role)

    context = LambdaContext(remaining_ms=300_000)

    event = cfn_event("Create", response_server.url)
    body = invoke(event, response_server, context)

    reason = ("Could not set up the account prerequisites for DMS/OpenSearch: "
              f"{LOGS_ROLE}: CreateRole failed with LimitExceeded: Cannot exceed quota for RolesPerAccount")
    assert body == expected_body(event, "FAILED", f"account-prerequisites:{VPC_ROLE}",
                                 reason=f"{reason} (CloudWatch log stream 2024/06/01/[$LATEST]abc)")
    errors = [json.loads(line) for line in capsys.readouterr().out.splitlines()
              if line.startswith("{") and json.loads(line)["level"] == "error"]
    assert errors == [{"level": "error", "handler": "account-prerequisites", "message": reason,
                       "request_type": "Create", "created": [VPC_ROLE]}]
    assert role_names(iam) == [VPC_ROLE]


@pytest.mark.parametrize("properties, reason", [
    ({"CreateDmsRoles": "yes"}, "CreateDmsRoles must be 'true' or 'false', got 'yes'"),
    ({"CreateOpenSearchServiceLinkedRole": ""}, "CreateOpenSearchServiceLinkedRole must be 'true' or 'false', got ''"),
    ({"PropagationWaitSeconds": "-1"}, "PropagationWaitSeconds must be a number of seconds >= 0, got '-1'"),
    ({"PropagationWaitSeconds": "soon"}, "PropagationWaitSeconds must be a number of seconds >= 0, got 'soon'"),
])
def test_invalid_properties_fail_the_create_without_touching_iam(clients, response_server, properties, reason):
    event = cfn_event("Create", response_server.url)
    event["ResourceProperties"].update(properties)

    body = invoke(event, response_server)

    assert body == expected_body(event, "FAILED", "account-prerequisites:none",
                                 reason=f"Could not set up the account prerequisites for DMS/OpenSearch: {reason}")
    assert role_names(clients["iam"]) == []


def test_unknown_request_type_fails(response_server):
    event = cfn_event("Create", response_server.url)
    event["RequestType"] = "Refresh"

    body = invoke(event, response_server)

    assert body == expected_body(event, "FAILED", "account-prerequisites:none",
                                 reason="Unsupported RequestType 'Refresh'")


# ---------------------------------------------------------------------------------------------
# Delete: the roles are account-level and shared, so nothing is ever deleted
# (IAM User Guide, "Using service-linked roles": a service-linked role serves every resource of its service in
# the account; DMS User Guide, "Creating the IAM roles to use with AWS DMS": dms-vpc-role and
# dms-cloudwatch-logs-role are looked up by these fixed names by every DMS resource of the account).
# ---------------------------------------------------------------------------------------------

def test_create_then_delete_leaves_every_role_in_place(clients, response_server, sleeps):
    iam = clients["iam"]
    created = invoke(cfn_event("Create", response_server.url), response_server)
    assert created["PhysicalResourceId"] == f"account-prerequisites:{VPC_ROLE},{LOGS_ROLE},{SLR}"
    before = {role["RoleName"]: role["RoleId"] for role in iam.list_roles()["Roles"]}
    event = cfn_event("Delete", response_server.url, physical_id=created["PhysicalResourceId"])

    body = invoke(event, response_server)  # no CloudFormation lookup is queued: none may happen

    assert body == expected_body(event, "SUCCESS", created["PhysicalResourceId"])
    assert {role["RoleName"]: role["RoleId"] for role in iam.list_roles()["Roles"]} == before
    assert attached(iam, VPC_ROLE) == [VPC_POLICY]
    assert attached(iam, LOGS_ROLE) == [LOGS_POLICY]
    assert slr_in_moto(iam) == [(SLR_PATH, ["opensearchservice.amazonaws.com"])]


def test_delete_of_a_replaced_id_leaves_the_roles_in_place(clients, response_server):
    iam = clients["iam"]
    make_dms_role(iam, VPC_ROLE, VPC_POLICY)
    make_dms_role(iam, LOGS_ROLE, LOGS_POLICY)
    # An update recorded a new id; CloudFormation cleans up the old one with a Delete.
    event = cfn_event("Delete", response_server.url, physical_id=f"account-prerequisites:{VPC_ROLE},{LOGS_ROLE}")

    body = invoke(event, response_server)

    assert body == expected_body(event, "SUCCESS", f"account-prerequisites:{VPC_ROLE},{LOGS_ROLE}")
    assert role_names(iam) == [LOGS_ROLE, VPC_ROLE]
    assert attached(iam, LOGS_ROLE) == [LOGS_POLICY]


def test_delete_makes_no_aws_call(response_server, monkeypatch):
    def no_client(service):
        raise AssertionError(f"Delete must not call {service}")

    monkeypatch.setattr(ap, "_client", no_client)
    event = cfn_event("Delete", response_server.url, physical_id=f"account-prerequisites:{VPC_ROLE}")

    body = invoke(event, response_server)

    assert body == expected_body(event, "SUCCESS", f"account-prerequisites:{VPC_ROLE}")


@pytest.mark.parametrize("physical_id", [None, "account-prerequisites:none", "some-other-id"])
def test_delete_answers_with_the_id_it_was_given(clients, response_server, physical_id):
    iam = clients["iam"]
    make_dms_role(iam, VPC_ROLE, VPC_POLICY)
    make_opensearch_slr(iam)
    event = cfn_event("Delete", response_server.url, physical_id=physical_id)

    body = invoke(event, response_server)

    assert body == expected_body(event, "SUCCESS", physical_id or "account-prerequisites:none")
    assert role_names(iam) == [SLR, VPC_ROLE]


def test_the_handler_has_no_code_path_that_deletes_a_role():
    source = (RUNTIME_DIR / "account_prerequisites.py").read_text()
    for call in ("delete_role", "detach_role_policy", "delete_service_linked_role"):
        assert call not in source


# ---------------------------------------------------------------------------------------------
# Ids and the response
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("physical_id, roles", [
    (f"account-prerequisites:{SLR},{VPC_ROLE}", [VPC_ROLE, SLR]),
    ("account-prerequisites:none", []),
    ("account-prerequisites:dms-vpc-role,someone-elses-role", [VPC_ROLE]),
    ("dms-vpc-role", []),
    (None, []),
])
def test_recorded_roles(physical_id, roles):
    assert ap.recorded_roles(physical_id) == roles


def test_physical_resource_id_lists_roles_in_a_fixed_order():
    assert ap.physical_resource_id([SLR, LOGS_ROLE, VPC_ROLE]) == f"account-prerequisites:{VPC_ROLE},{LOGS_ROLE},{SLR}"
    assert ap.physical_resource_id([]) == "account-prerequisites:none"


def test_response_is_put_as_cloudformation_expects_it(clients, response_server):
    event = cfn_event("Create", response_server.url, opensearch="false")

    ap.handler(event, None)

    assert len(response_server.received) == 1
    received = response_server.received[0]
    expected = {
        "Status": "SUCCESS",
        "PhysicalResourceId": f"account-prerequisites:{VPC_ROLE},{LOGS_ROLE}",
        "StackId": STACK_ID,
        "RequestId": "create-request-0001",
        "LogicalResourceId": LOGICAL_ID,
        "Data": {"CreatedRoles": f"{VPC_ROLE},{LOGS_ROLE}", "ExistingRoles": ""},
    }
    assert received["method"] == "PUT"
    assert received["path"] == "/cfn-response?X-Amz-Signature=abc123"
    assert received["content_type"] == ""
    assert received["content_length"] == str(len(received["body"]))
    assert json.loads(received["body"]) == expected


def test_unreachable_response_url_is_retried_then_logged(monkeypatch, sleeps, capsys):
    with cloudformation_response_url() as server:
        port = server.server_address[1]
    # nothing listens on this port any more
    event = cfn_event("Delete", f"http://127.0.0.1:{port}/cfn-response", physical_id="account-prerequisites:none")

    body = ap.send_response(event, "SUCCESS", "account-prerequisites:none")

    assert body["Status"] == "SUCCESS"
    assert sleeps == [1, 2]
    logs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["message"] for line in logs] == ["sending the response failed"] * 3 + [
        "could not send the response to CloudFormation"]


def test_handler_file_only_uses_the_standard_library_and_boto3():
    tree = ast.parse((RUNTIME_DIR / "account_prerequisites.py").read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules == {"json", "time", "urllib", "dataclasses", "boto3", "botocore"}
