"""Face verification domain: decode images, find the one face, embed it, compare, decide.

Nothing in this package imports boto3 or Powertools: S3 access lives in
``s3_reference_store`` and HTTP lives in the handler, so the domain can be tested
(and benchmarked) without either.
"""
