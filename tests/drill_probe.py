"""A client's view of a database during a drill, for `drills.probe` in tests: exit 0 while DescribeDBInstances
on moto's server says the instance is available (stdlib only, so each probe starts fast)."""

import os
import re
import sys
import urllib.parse
import urllib.request

body = urllib.parse.urlencode(
    {"Action": "DescribeDBInstances", "Version": "2014-10-31", "DBInstanceIdentifier": os.environ["DR_DRILL_ID"]}
).encode()
region = os.environ["DR_DRILL_REGION"]
request = urllib.request.Request(
    os.environ["AWS_ENDPOINT_URL"] + "/",
    data=body,
    headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/rds/aws4_request, "
        "SignedHeaders=host, Signature=0",
    },
)
try:
    text = urllib.request.urlopen(request, timeout=5).read().decode()
except OSError:
    sys.exit(1)
status = re.search(r"<DBInstanceStatus>([^<]+)</DBInstanceStatus>", text)
sys.exit(0 if status and status.group(1) == "available" else 1)
