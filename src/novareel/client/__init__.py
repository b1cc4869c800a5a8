"""The only package that talks to AWS: Bedrock async invoke and S3, through boto3."""

from novareel.client.aws import *  # noqa: F403
from novareel.client.aws import __all__  # noqa: F401
