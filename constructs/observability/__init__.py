"""The observability layer: logs (Fluent Bit to CloudWatch Logs), metrics (an AMP workspace fed by an in-cluster
Prometheus agent), and alarms (CloudWatch alarms and AMP alerting rules to one SNS topic). It reads the lower
layers' handles; nothing imports it."""
