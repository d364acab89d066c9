"""The harness parses each state machine definition once (test_state_machine.parse_each_text_once): the syntax tree
is shared, the evaluation components are not, since they keep one execution's state."""

import json

from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from test_state_machine import parse_each_text_once

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

