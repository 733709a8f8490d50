"""The serverless flow on one machine (moto + the real ASL + the real handlers), with the IAM
the template grants and a usage report. Development and test tooling: not shipped in any layer."""
