"""Stateful resources keep their logical ids, and their deletion policy follows the env's removal policy."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.synth import Synthesized
from tests.template_queries import resources_of_type

PINNED = yaml.safe_load((Path(__file__).parent / "stateful_resources.yaml").read_text())
# Log groups of deploy-time handlers (the Fernet key writer, the DAG delivery, CDK's kubectl handler, its default
# security group and bucket emptying handlers) hold only those functions' logs; they are not Airflow or cluster state.
NOT_STATE = {
    "RestrictDefaultSgHandlerLogsLogGroupCFABC0F0",
    "EmptyBucketsHandlerLogsLogGroup75852C92",
    "AirflowSecretsFernetKeyWriterLogsLogGroup7503819D",
    "DagDeliveryDeliveryLogsLogGroup3C356AB7",
    "SparkTeamsFolderMarkerLogsLogGroup040F6E3A",
    "EksClusterKubectlProviderHandlerLogGroup4E3D8320",
    "EksClusterKubectlProviderframeworkonEventLogGroup018F2467",
}


def test_stateful_logical_ids_are_pinned(synthesized: Synthesized) -> None:
    for stack_name in synthesized.stack_names:
        template = synthesized.templates[stack_name]
        expected = PINNED[stack_name]
        for resource_type in (
            "AWS::KMS::Key",
            "AWS::Logs::LogGroup",
            "AWS::RDS::DBInstance",
            "AWS::EFS::FileSystem",
            "AWS::S3::Bucket",
            "AWS::SecretsManager::Secret",
            "AWS::APS::Workspace",
        ):
            actual = sorted(set(resources_of_type(template, resource_type)) - NOT_STATE)
            assert actual == expected.get(resource_type, []), f"{stack_name} {resource_type}"


def test_deletion_policies_follow_the_removal_policy(synthesized: Synthesized) -> None:
    policy = synthesized.config.removal_policy
    for stack_name in synthesized.stack_names:
        template = synthesized.templates[stack_name]
        for resource_type, logical_ids in PINNED[stack_name].items():
            for logical_id in logical_ids:
                resource = template["Resources"][logical_id]
                if policy == "destroy":
                    expected = "Delete"
                elif resource_type == "AWS::RDS::DBInstance" and policy == "snapshot":
                    expected = "Snapshot"
                else:
                    expected = "Retain"
                assert resource["DeletionPolicy"] == expected, logical_id
                assert resource["UpdateReplacePolicy"] == expected, logical_id
