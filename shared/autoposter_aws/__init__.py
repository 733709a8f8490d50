"""The AWS adapter: S3 and Step Functions access for the Lambda handlers and the local cloud.

The core (``autoposter``) never imports this package; handlers call ``steps``.
"""
