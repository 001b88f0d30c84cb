"""S3 support for the official Spark image, which ships Hadoop's clients but not its S3A connector.

An init container fetches hadoop-aws (the image's Hadoop release) and the AWS SDK v2 bundle it is built against
from Maven Central into an emptyDir, checks each against Maven Central's published SHA-1, and the JVM puts that
folder on its classpath. S3A then authenticates with the pod's EKS Pod Identity credentials only
(ContainerCredentialsProvider), never the node's role. The example SparkApplication in dags/ carries the same
container; tests keep the two in step.
"""

from __future__ import annotations

from typing import Any

from config.settings import SparkVersion

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
JARS_DIR = "/opt/s3a-jars"
JARS_VOLUME = "s3a-jars"
CREDENTIALS_PROVIDER = "software.amazon.awssdk.auth.credentials.ContainerCredentialsProvider"
FETCH_SCRIPT = (
    'set -eu; for url in $S3A_JARS; do jar="$JARS_DIR/${url##*/}"; wget -q -O "$jar" "$url"; '
    'echo "$(wget -q -O - "$url.sha1" | cut -c1-40)  $jar" | sha1sum -c -; done'
)
# The image's own user: its Dockerfile ends with `USER spark` (uid and gid 185), a name the kubelet cannot check
# against runAsNonRoot, so every container and pod that asks for non-root gives the number.
SPARK_UID = 185
# The restricted pod security standard, for every container the app adds to a Spark pod.
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": SPARK_UID,
    "runAsGroup": SPARK_UID,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def s3a_jar_urls(spark: SparkVersion) -> list[str]:
    return [
        f"{MAVEN_CENTRAL}/org/apache/hadoop/hadoop-aws/{spark.hadoop_version}/hadoop-aws-{spark.hadoop_version}.jar",
        f"{MAVEN_CENTRAL}/software/amazon/awssdk/bundle/{spark.aws_sdk_bundle_version}/"
        f"bundle-{spark.aws_sdk_bundle_version}.jar",
    ]


def fetch_jars_container(spark: SparkVersion) -> dict[str, Any]:
    return {
        "name": "fetch-s3a-jars",
        "image": spark.image,
        "command": ["sh", "-c", FETCH_SCRIPT],
        "env": [
            {"name": "S3A_JARS", "value": " ".join(s3a_jar_urls(spark))},
            {"name": "JARS_DIR", "value": JARS_DIR},
        ],
        "volumeMounts": [{"name": JARS_VOLUME, "mountPath": JARS_DIR}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": RESTRICTED_CONTAINER,
    }
