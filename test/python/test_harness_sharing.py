"""What the harness shares between executions to save time, and what it must not: each definition text is parsed
once but every parse gets new evaluation components, since they keep one execution's state
(test_state_machine.parse_each_text_once); task states share one SDK client per region, service and role
(test_state_machine.share_sdk_clients); speedups.py applies once per process, and what it keeps gives the answers
botocore and moto would give."""

import json

import boto3
import botocore.compat
import botocore.hooks
import botocore.session
import jsonpath_ng
import pytest
import requests
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import StateCredentials
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

import speedups
from test_state_machine import parse_each_text_once, share_sdk_clients

# A Choice state, whose component keeps the branch one execution took.
CHOICE = json.dumps({
    "StartAt": "Which",
    "States": {
        "Which": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Yes"}],
                  "Default": "No"},
        "Yes": {"Type": "Succeed"},
        "No": {"Type": "Succeed"},
    },
})


def test_one_text_gives_one_syntax_tree_and_new_components_each_time(monkeypatch):
    parse_each_text_once(monkeypatch)
    first, tree = AmazonStateLanguageParser.parse(CHOICE)
    second, same_tree = AmazonStateLanguageParser.parse(CHOICE)
    assert same_tree is tree
    assert second is not first


def test_task_states_share_a_client_per_region_service_and_role(monkeypatch):
    share_sdk_clients(monkeypatch)
    client_for = lambda_eval_utils.boto_client_for
    # moto hands every task state credentials: the execution's role, or the role of the state's Credentials field.
    role = StateCredentials(role_arn="arn:aws:iam::123456789012:role/execution")
    lambda_client = client_for(region="us-west-2", service="lambda", state_credentials=role)
    same_role = StateCredentials(role_arn="arn:aws:iam::123456789012:role/execution")
    assert client_for(region="us-west-2", service="lambda", state_credentials=same_role) is lambda_client
    assert client_for(region="us-east-1", service="lambda", state_credentials=role) is not lambda_client
    assert client_for(region="us-west-2", service="sqs", state_credentials=role) is not lambda_client
    other = StateCredentials(role_arn="arn:aws:iam::123456789012:role/other")
    assert client_for(region="us-west-2", service="lambda", state_credentials=other) is not lambda_client
    # Anything but moto's credentials object gets a client of its own.
    assert client_for(region="us-west-2", service="lambda") is not client_for(region="us-west-2", service="lambda")


def test_the_speedups_apply_once_per_process_whatever_runs_the_conftest_again():
    # pytest runs the conftest anew in each session (the mutation run has one per mutant); a second apply() must keep
    # the model loader, and its cache, that the first one installed.
    loader, parse = botocore.session.create_loader(), jsonpath_ng.parse
    speedups.apply()
    assert botocore.session.create_loader() is loader
    assert jsonpath_ng.parse is parse


def test_the_kwargs_check_of_event_handlers_gives_inspect_s_answer_and_still_refuses_a_handler_without_kwargs():
    def with_kwargs(a, **kwargs):
        return a

    def without_kwargs(a):
        return a

    class Handler:
        def handle(self, **kwargs):
            return kwargs

        def __call__(self, a):
            return a

    check = botocore.hooks.accepts_kwargs
    assert check is not botocore.compat.accepts_kwargs  # the cached check is installed
    for handler, expected in ((with_kwargs, "kwargs"), (without_kwargs, None), (Handler().handle, "kwargs"),
                              (Handler(), None)):
        assert check(handler) == botocore.compat.accepts_kwargs(handler) == expected
        assert check(handler) == expected  # asked again, from the cache for plain functions
    # Two closures from one definition share a code object, and so the answer.
    made = [(lambda: lambda **kwargs: kwargs)() for _ in range(2)]
    assert [check(handler) for handler in made] == ["kwargs", "kwargs"]
    with pytest.raises(ValueError, match="must accept keyword arguments"):
        botocore.hooks.HierarchicalEmitter().register("before-call.s3", without_kwargs)


def test_sessions_share_the_default_event_alias_answers_and_keep_their_own_for_other_tables():
    first, second = botocore.session.Session(), botocore.session.Session()
    assert first._events._alias_name_cache is second._events._alias_name_cache
    # botocore's table renames the old service name "autoscaling" to "auto-scaling" in event names.
    assert first._events._alias_event_name("before-call.autoscaling.X") == "before-call.auto-scaling.X"
    assert second._events._alias_event_name("before-call.autoscaling.X") == "before-call.auto-scaling.X"
    own = botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter(), {"a": "b"})
    assert own._alias_name_cache is not first._events._alias_name_cache
    assert own._alias_event_name("x.a.y") == "x.b.y"
    assert first._events._alias_event_name("x.a.y") == "x.a.y"


def test_each_mock_still_answers_http_calls_to_aws_urls_with_moto_after_the_first():
    # The `requests` mock's answer objects are made once and registered again by every mock_aws() start.
    for bucket in ("first", "second"):
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="k", Body=b"body", ACL="public-read")
            answer = requests.get(f"https://{bucket}.s3.amazonaws.com/k", timeout=5)
            assert (answer.status_code, answer.content) == (200, b"body")
            unknown = requests.get("https://unknown-service.amazonaws.com/", timeout=5)
            assert (unknown.status_code, unknown.text) == (400, "The method is not implemented")
