"""What the harness shares between executions to save time, and what it must not: each definition text is parsed
once but every parse gets new evaluation components, since they keep one execution's state
(test_state_machine.parse_each_text_once); task states share one SDK client per region and service, unless a state
has credentials of its own (test_state_machine.share_sdk_clients); speedups.py applies once per process."""

import json

from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

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


def test_task_states_share_a_client_per_region_and_service_but_not_across_credentials(monkeypatch):
    share_sdk_clients(monkeypatch)
    client_for = lambda_eval_utils.boto_client_for
    lambda_client = client_for(region="us-west-2", service="lambda")
    assert client_for(region="us-west-2", service="lambda") is lambda_client
    assert client_for(region="us-east-1", service="lambda") is not lambda_client
    assert client_for(region="us-west-2", service="sqs") is not lambda_client
    assumed = {"RoleArn": "arn:aws:iam::123456789012:role/other"}
    assert client_for(region="us-west-2", service="lambda", state_credentials=assumed) is not lambda_client


def test_the_speedups_apply_once_per_process_whatever_runs_the_conftest_again():
    # pytest runs the conftest anew in each session (the mutation run has one per mutant); a second apply() must keep
    # the model loader, and its cache, that the first one installed.
    import botocore.session
    import jsonpath_ng

    import speedups

    loader, parse = botocore.session.create_loader(), jsonpath_ng.parse
    speedups.apply()
    assert botocore.session.create_loader() is loader
    assert jsonpath_ng.parse is parse
