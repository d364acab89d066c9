"""The AWS Control Tower proactive controls (the cfn-guard rules shipped in @cdklabs/cdk-validator-cfnguard),
run with the package's own cfn-guard binary over every synthesized template, nested ones included.

A failure is accepted only where the failing resource carries an exemption for that rule, with a reason,
in its template metadata (written by the library next to the resource)."""
import functools
import json
import platform
import re
import subprocess
from pathlib import Path

import pytest

from template_loader import cdk_out_dir

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard"
RULES = PACKAGE / "rules" / "control-tower" / "cfn-guard"
EXEMPTIONS = "cdk-migration-pipeline:guard-exemptions"


def guard_binary() -> Path:
    arch = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[platform.machine()]
    return PACKAGE / "bin" / "ubuntu" / arch / "cfn-guard"


def templates() -> list[Path]:
    return sorted(Path(cdk_out_dir()).glob("*.template.json"))


def resource_types(path: Path) -> set[str]:
    return {resource["Type"] for resource in json.loads(path.read_text())["Resources"].values()}


@functools.cache
def named_types(rule_file: Path) -> frozenset[str]:
    return frozenset(re.findall(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+", rule_file.read_text()))


def applicable_rule_files(path: Path) -> list[Path]:
    """The rule files that can apply to one template: each Control Tower rule file is written for the resource types
    it names, and cfn-guard skips a file whose types the template lacks, so leaving those out changes no result (it
    saves most of the time). A rule file naming no resource type is always kept."""
    present = resource_types(path)
    return [rule_file for rule_file in sorted(RULES.rglob("*.guard"))
            if not named_types(rule_file) or named_types(rule_file) & present]


def run_guard_once(path: Path) -> list[dict]:
    """One cfn-guard run over one template; its JSON output is a stream of one document per rule file."""
    args = [str(guard_binary()), "validate", "--output-format", "json", "--show-summary", "none", "--data", str(path)]
    for rule_file in applicable_rule_files(path):
        args += ["--rules", str(rule_file)]
    completed = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    # Exit code 19 means "some rule failed"; anything else but 0 is a broken run.
    assert completed.returncode in (0, 19), completed.stderr[-2000:]
    decoder, text, position, documents = json.JSONDecoder(), completed.stdout, 0, []
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
    return documents


def run_guard(paths: list[Path]) -> list[dict]:
    """cfn-guard over every template, one process per template (one after another: side by side they contend and
    take more CPU time in all)."""
    return [document for path in paths for document in run_guard_once(path)]


def failures(documents: list[dict]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(template file, rule name, logical ids of the failing resources) for every non-compliant result."""
    found = []
    for document in documents:
        for result in document["not_compliant"]:
            ids = tuple(sorted(set(re.findall(r'"/Resources/([^/"\[]+)', json.dumps(result)))))
            found.append((Path(document["name"]).name, result["Rule"]["name"], ids))
    return found


@pytest.fixture(scope="module")
def guard_results():
    paths = templates()
    assert len(paths) == 12, [p.name for p in paths]
    documents = run_guard(paths)
    return paths, documents, failures(documents)


def exemption(template: Path, logical_id: str, rule: str) -> str | None:
    resource = json.loads(template.read_text())["Resources"][logical_id]
    return resource.get("Metadata", {}).get(EXEMPTIONS, {}).get(rule)


def test_the_rule_filter_keeps_every_rule_a_template_is_exempted_from():
    """Each rule an exemption names (buckets, log groups, keys, ...) must still be evaluated on that template."""
    exempted_somewhere = False
    for path in templates():
        kept = applicable_rule_files(path)
        kept_text = "".join(rule_file.read_text() for rule_file in kept)
        exempted = {rule for resource in json.loads(path.read_text())["Resources"].values()
                    for rule in resource.get("Metadata", {}).get(EXEMPTIONS, {})}
        exempted_somewhere = exempted_somewhere or bool(exempted)
        assert all(f"rule {rule}" in kept_text for rule in exempted), (path.name, exempted)
        assert len(kept) < len(list(RULES.rglob("*.guard")))
    assert exempted_somewhere


def test_every_template_was_evaluated(guard_results):
    paths, documents, _ = guard_results
    evaluated = {Path(d["name"]).name for d in documents}
    assert evaluated == {p.name for p in paths}


def test_every_failure_is_on_a_named_resource_with_an_exemption(guard_results):
    paths, _, found = guard_results
    by_name = {p.name: p for p in paths}
    unexplained = []
    for template, rule, ids in found:
        if not ids:
            unexplained.append((template, rule, "no resource named"))
            continue
        for logical_id in ids:
            reason = exemption(by_name[template], logical_id, rule)
            if not reason or len(reason) < 30:
                unexplained.append((template, rule, logical_id))
    assert unexplained == []


def test_exemptions_are_few_and_the_reviewed_ones(guard_results):
    """Exempted (rule, template/resource) pairs; the README's Security section lists them. A new one is a security
    decision."""
    _, _, found = guard_results
    pairs = sorted({(rule, f"{template}/{logical_id}") for template, rule, ids in found for logical_id in ids})
    assert len(pairs) == 64
    assert pairs == REVIEWED_EXEMPTIONS


def test_no_exemption_is_stale(guard_results):
    """Every exemption in the templates matches a real failure, so none outlives its reason."""
    paths, _, found = guard_results
    failing = {(template, rule, logical_id) for template, rule, ids in found for logical_id in ids}
    stale = []
    for path in paths:
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            for rule in resource.get("Metadata", {}).get(EXEMPTIONS, {}):
                if (path.name, rule, logical_id) not in failing:
                    stale.append((path.name, rule, logical_id))
    assert stale == []


# (rule, template file/logical id), sorted.
REVIEWED_EXEMPTIONS = [
    ("aurora_cluster_backtracking_enabled_check", "TapStackMigrationPipelineDatabaseStack54851E7D.nested.template.json/DatabaseAuroraCluster35AE33F7"),
    ("cloudwatch_log_group_encrypted_check", "TapStack.template.json/MigrationPipelineAccountPrerequisitesLogsD58F21C7"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineDMSStackC8C97580.nested.template.json/DmsTaskStopGuardLogs598F6FEA"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineDataSyncStack8D8BF59A.nested.template.json/DataSyncActivationLogs65D98CC6"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineDataSyncStack8D8BF59A.nested.template.json/DataSyncAgentImageLogs3FD3D2C4"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineDatabaseStack54851E7D.nested.template.json/DatabaseauditLogGroupC2760C41"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineDatabaseStack54851E7D.nested.template.json/DatabaseerrorLogGroup92BB1435"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineDatabaseStack54851E7D.nested.template.json/DatabasegeneralLogGroup2DCC2B85"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineDatabaseStack54851E7D.nested.template.json/DatabaseslowqueryLogGroup11256F57"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineLambdaStackE665DD37.nested.template.json/FunctionsGlueTriggerFunctionLogs5230BC4A"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineLambdaStackE665DD37.nested.template.json/FunctionsRemediationFunctionLogsA0E32020"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineLambdaStackE665DD37.nested.template.json/FunctionsStepFunctionTriggerFunctionLogs4E7B81CB"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingAppLogsDBD0C834"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingDeliveryLogs8EE625BD"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingSlowIndexLogsA97F1B32"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingSlowSearchLogs49B3EEAB"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingTransformLogs0F0FC3BB"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineOrchestrationStack6F170009.nested.template.json/CutoverChecksLogsC207B0F5"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineOrchestrationStack6F170009.nested.template.json/CutoverLogsC931ABFC"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineOrchestrationStack6F170009.nested.template.json/CutoverSettleLogsB20F2D71"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineOrchestrationStack6F170009.nested.template.json/OrchestrationLogsEE401D34"),
    ("cloudwatch_log_group_encrypted_check", "TapStackMigrationPipelineOrchestrationStack6F170009.nested.template.json/OrchestrationTableReviewLogs683FA69D"),
    ("ec2_instance_nitro_encryption_in_transit_check", "TapStackMigrationPipelineDataSyncStack8D8BF59A.nested.template.json/DataSyncAgentInstance2C67FCAF"),
    ("ec2_instance_no_public_ip_check", "TapStackMigrationPipelineDataSyncStack8D8BF59A.nested.template.json/DataSyncAgentInstance2C67FCAF"),
    ("lambda_function_public_access_prohibited_check", "TapStackMigrationPipelineLambdaStackE665DD37.nested.template.json/FunctionsRemediationFunctionAllowInvokeTapStackMigrationPipelineMessagingStackMessagingValidationTopic54DF888FCB0D7ED0"),
    ("lambda_function_public_access_prohibited_check", "TapStackMigrationPipelineLambdaStackE665DD37.nested.template.json/FunctionsStepFunctionTriggerFunctionAllowInvokeTapStackMigrationPipelineMessagingStackMessagingValidationTopic54DF888F28CEBCFE"),
    ("lambda_inside_vpc_check", "TapStack.template.json/MigrationPipelineAccountPrerequisitesFunctionE8A2F108"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineDMSStackC8C97580.nested.template.json/DmsTaskStopGuardFunctionDE8E1F44"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineDataSyncStack8D8BF59A.nested.template.json/AWS679f53fac002430cb0da5b7982bd22872D164C4C"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineDataSyncStack8D8BF59A.nested.template.json/DataSyncActivationFunction5D1777DE"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineGlueStackE73C68D0.nested.template.json/CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB5F7BD223"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineLambdaStackE665DD37.nested.template.json/FunctionsGlueTriggerFunction00F97826"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineLambdaStackE665DD37.nested.template.json/FunctionsRemediationFunctionA7C875A6"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineLambdaStackE665DD37.nested.template.json/FunctionsStepFunctionTriggerFunction1F2C2F70"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/CustomS3AutoDeleteObjectsCustomResourceProviderHandler9D90184F"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingTransformFunction0CC0C0C1"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineNetworkStack60376AA5.nested.template.json/CustomVpcRestrictDefaultSGCustomResourceProviderHandlerDC833E5E"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineOrchestrationStack6F170009.nested.template.json/CutoverChecksFunctionCCB3ADD4"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineOrchestrationStack6F170009.nested.template.json/CutoverSettleFunction95DDE23F"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineOrchestrationStack6F170009.nested.template.json/OrchestrationTableReviewFunctionE6C34D81"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/BucketNotificationsHandler050a0587b7544547bf325f094a3db8347ECC3691"),
    ("lambda_inside_vpc_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/CustomS3AutoDeleteObjectsCustomResourceProviderHandler9D90184F"),
    ("opensearch_audit_logging_enabled_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingDomainABCD8B88"),
    ("opensearch_data_node_fault_tolerance_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingDomainABCD8B88"),
    ("opensearch_fine_grained_access_control_enabled_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingDomainABCD8B88"),
    ("rds_cluster_deletion_protection_enabled_check", "TapStackMigrationPipelineDatabaseStack54851E7D.nested.template.json/DatabaseAuroraCluster35AE33F7"),
    ("s3_bucket_default_encryption_kms_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingBackupBucketAD01764D"),
    ("s3_bucket_default_encryption_kms_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageAccessLogsBucketFEE4D6FB"),
    ("s3_bucket_default_encryption_kms_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageDataBucketB1B922FA"),
    ("s3_bucket_default_encryption_kms_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageScriptBucketBB32652A"),
    ("s3_bucket_logging_enabled_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingBackupBucketAD01764D"),
    ("s3_bucket_logging_enabled_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageAccessLogsBucketFEE4D6FB"),
    ("s3_bucket_object_lock_enabled_check", "TapStackMigrationPipelineLoggingStack8DDC702B.nested.template.json/LoggingBackupBucketAD01764D"),
    ("s3_bucket_object_lock_enabled_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageAccessLogsBucketFEE4D6FB"),
    ("s3_bucket_object_lock_enabled_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageDataBucketB1B922FA"),
    ("s3_bucket_object_lock_enabled_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageScriptBucketBB32652A"),
    ("s3_event_notifications_enabled_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageAccessLogsBucketFEE4D6FB"),
    ("s3_event_notifications_enabled_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageDataBucketB1B922FA"),
    ("s3_event_notifications_enabled_check", "TapStackMigrationPipelineStorageStackAA8E3CE6.nested.template.json/StorageScriptBucketBB32652A"),
    ("sqs_dlq_check", "TapStack.template.json/MigrationPipelineIncomingRuleDeadLetterQueue232C85F8"),
    ("sqs_dlq_check", "TapStackMigrationPipelineMessagingStackB1ADE15D.nested.template.json/MessagingDeadLetterQueue3CB71CAD"),
    ("sqs_dlq_check", "TapStackMigrationPipelineMonitoringStack6DEE403D.nested.template.json/EventTargetDeadLetterQueue8A723225"),
    ("sqs_queue_encrypted_check", "TapStack.template.json/MigrationPipelineIncomingRuleDeadLetterQueue232C85F8"),
    ("sqs_queue_encrypted_check", "TapStackMigrationPipelineMonitoringStack6DEE403D.nested.template.json/EventTargetDeadLetterQueue8A723225"),
]
