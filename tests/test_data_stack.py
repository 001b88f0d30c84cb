"""The Airflow data layer: DB, DAG file system, log buckets and secrets, all as the issue specifies."""

from __future__ import annotations

import json

from tests.synth import Synthesized
from tests.template_queries import by_path, only_resource, refs_in, resources_of_type


def _data_key_id(template: dict) -> str:
    key_id, _ = only_resource(template, "AWS::KMS::Key")
    return key_id


def _data_clients_ingress(template: dict, port: int) -> list[dict]:
    return [
        rule["Properties"]
        for rule in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["FromPort"] == port
    ]


def test_postgres_on_a_pinned_full_minor_version(synthesized: Synthesized) -> None:
    _, db = only_resource(synthesized.template("data"), "AWS::RDS::DBInstance")
    version = db["Properties"]["EngineVersion"]
    assert db["Properties"]["Engine"] == "postgres"
    assert version == synthesized.config.versions.postgres.full
    major, minor = version.split(".")
    assert int(major) >= 17 and minor.isdigit()


def test_database_encrypted_with_the_customer_managed_key(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    _, db = only_resource(template, "AWS::RDS::DBInstance")
    props = db["Properties"]
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": [_data_key_id(template), "Arn"]}
    assert props["PubliclyAccessible"] is False
    if synthesized.config.database.performance_insights:
        assert props["PerformanceInsightsKMSKeyId"] == {"Fn::GetAtt": [_data_key_id(template), "Arn"]}


def test_database_requires_tls(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    _, db = only_resource(template, "AWS::RDS::DBInstance")
    group_id, group = only_resource(template, "AWS::RDS::DBParameterGroup")
    assert db["Properties"]["DBParameterGroupName"] == {"Ref": group_id}
    assert group["Properties"]["Parameters"]["rds.force_ssl"] == "1"


def test_master_password_only_via_secrets_manager(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    _, db = only_resource(template, "AWS::RDS::DBInstance")
    password = json.dumps(db["Properties"]["MasterUserPassword"])
    assert "{{resolve:secretsmanager:" in password
    secret_id, secret = by_path(template, "MetadataDb/Instance/Secret/Resource")
    assert secret_id in refs_in(db["Properties"]["MasterUserPassword"])
    assert set(secret["Properties"]["GenerateSecretString"]) >= {"PasswordLength", "ExcludeCharacters"}
    assert "@" in secret["Properties"]["GenerateSecretString"]["ExcludeCharacters"]


def test_database_in_isolated_subnets(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    _, subnet_group = only_resource(template, "AWS::RDS::DBSubnetGroup")
    subnet_refs = json.dumps(subnet_group["Properties"]["SubnetIds"])
    assert subnet_refs.count("databaseSubnet") == synthesized.config.network.az_count
    assert "privateSubnet" not in subnet_refs and "publicSubnet" not in subnet_refs


def test_database_admits_postgres_only_from_data_clients(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    _, db = only_resource(template, "AWS::RDS::DBInstance")
    (db_group_ref,) = db["Properties"]["VPCSecurityGroups"]
    rules = [
        r["Properties"]
        for r in resources_of_type(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == db_group_ref
    ]
    assert len(rules) == 1
    assert (rules[0]["FromPort"], rules[0]["ToPort"], rules[0]["IpProtocol"]) == (5432, 5432, "tcp")
    assert "DataClients" in json.dumps(rules[0]["SourceSecurityGroupId"])
    db_group = template["Resources"][db_group_ref["Fn::GetAtt"][0]]["Properties"]
    assert "SecurityGroupIngress" not in db_group


def test_database_availability_settings_follow_config(synthesized: Synthesized) -> None:
    _, db = only_resource(synthesized.template("data"), "AWS::RDS::DBInstance")
    props, settings = db["Properties"], synthesized.config.database
    assert props["MultiAZ"] is settings.multi_az
    assert props["DeletionProtection"] is settings.deletion_protection
    assert props["BackupRetentionPeriod"] == settings.backup_retention_days
    assert props.get("EnablePerformanceInsights", False) is settings.performance_insights
    assert props["DBInstanceClass"] == f"db.{settings.instance_class}"
    assert props["MonitoringInterval"] == 60


def test_prod_is_highly_available_and_dev_is_small(dev: Synthesized, prod: Synthesized) -> None:
    _, prod_db = only_resource(prod.template("data"), "AWS::RDS::DBInstance")
    _, dev_db = only_resource(dev.template("data"), "AWS::RDS::DBInstance")
    assert prod_db["Properties"]["MultiAZ"] is True and prod_db["Properties"]["DeletionProtection"] is True
    assert dev_db["Properties"]["MultiAZ"] is False
    assert dev_db["Properties"]["DBInstanceClass"].startswith("db.t4g.")  # burstable Graviton


def test_database_log_groups_precreated_encrypted_and_retained(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    db_id, db = only_resource(template, "AWS::RDS::DBInstance")
    identifier = db["Properties"]["DBInstanceIdentifier"]
    names = {}
    for log_id, group in resources_of_type(template, "AWS::Logs::LogGroup").items():
        name = group["Properties"].get("LogGroupName", "")
        if name.startswith("/aws/rds/"):
            names[name] = log_id
            assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [_data_key_id(template), "Arn"]}
            assert log_id in db["DependsOn"]
    assert set(names) == {
        f"/aws/rds/instance/{identifier}/{export}" for export in db["Properties"]["EnableCloudwatchLogsExports"]
    }


def test_efs_encrypted_tls_only_and_reachable_from_data_clients_only(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    _, fs = only_resource(template, "AWS::EFS::FileSystem")
    props = fs["Properties"]
    assert props["Encrypted"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": [_data_key_id(template), "Arn"]}
    assert props["BackupPolicy"] == {"Status": "ENABLED"}
    statements = props["FileSystemPolicy"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    mount_targets = resources_of_type(template, "AWS::EFS::MountTarget").values()
    assert len(mount_targets) == synthesized.config.network.az_count
    assert all("privateSubnet" in json.dumps(m["Properties"]["SubnetId"]) for m in mount_targets)
    (nfs_rule,) = _data_clients_ingress(template, 2049)
    assert nfs_rule["ToPort"] == 2049 and "DataClients" in json.dumps(nfs_rule["SourceSecurityGroupId"])


def test_dags_access_point_is_the_airflow_user(synthesized: Synthesized) -> None:
    _, access_point = only_resource(synthesized.template("data"), "AWS::EFS::AccessPoint")
    props = access_point["Properties"]
    assert props["PosixUser"] == {"Uid": "50000", "Gid": "0"}
    assert props["RootDirectory"] == {
        "Path": "/dags",
        "CreationInfo": {"OwnerUid": "50000", "OwnerGid": "0", "Permissions": "775"},
    }


def _bucket_policy_of(template: dict, bucket_id: str) -> list[dict]:
    for policy in resources_of_type(template, "AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": bucket_id}:
            return policy["Properties"]["PolicyDocument"]["Statement"]
    raise AssertionError(f"no bucket policy for {bucket_id}")


def test_log_bucket_encrypted_private_tls_only_logged_and_expiring(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    logs_id, logs_bucket = by_path(template, "TaskLogs/LogsBucket/Resource")
    access_id, _ = by_path(template, "TaskLogs/AccessLogsBucket/Resource")
    props = logs_bucket["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::GetAtt": [_data_key_id(template), "Arn"]}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": access_id}
    (lifecycle,) = props["LifecycleConfiguration"]["Rules"]
    assert lifecycle["ExpirationInDays"] == synthesized.config.logging.airflow_log_expiry_days
    assert lifecycle["Status"] == "Enabled"
    statements = _bucket_policy_of(template, logs_id)
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )


def test_buckets_auto_delete_only_when_destroying(dev: Synthesized, prod: Synthesized) -> None:
    # The task-log bucket, its access-log bucket and one bucket per Spark job namespace.
    expected = 2 + len(dev.config.spark.job_namespaces)
    assert len(resources_of_type(dev.template("data"), "Custom::S3AutoDeleteObjects")) == expected
    assert resources_of_type(prod.template("data"), "Custom::S3AutoDeleteObjects") == {}
    for bucket in resources_of_type(prod.template("data"), "AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Retain"


def test_airflow_secrets_generated_in_aws_never_in_the_template(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    secrets = resources_of_type(template, "AWS::SecretsManager::Secret")
    names = {s["Properties"]["Name"] for s in secrets.values()}
    prefix = f"{synthesized.config.cluster_name}/airflow/"
    assert names == {
        prefix + n for n in ("metadata-db", "api-secret-key", "jwt-secret", "admin-password", "fernet-key")
    }
    for secret in secrets.values():
        assert "SecretString" not in secret["Properties"]
        assert "GenerateSecretString" in secret["Properties"]
        assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [_data_key_id(template), "Arn"]}


def test_fernet_key_written_by_a_custom_resource_that_returns_nothing(synthesized: Synthesized) -> None:
    template = synthesized.template("data")
    _, writer = only_resource(template, "Custom::AirflowFernetKey")
    fernet_id, _ = by_path(template, "AirflowSecrets/FernetKey/Resource")
    assert writer["Properties"]["SecretArn"] == {"Ref": fernet_id}
    policy_id, policy = by_path(template, "AirflowSecrets/FernetKeyWriterRole/DefaultPolicy/Resource")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    secret_statement = next(s for s in statements if "secretsmanager:PutSecretValue" in json.dumps(s["Action"]))
    assert secret_statement["Resource"] == {"Ref": fernet_id}
    assert policy_id in writer.get("DependsOn", [])
