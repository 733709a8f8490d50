"""#14 teardown: `autoposter teardown --stack NAME --yes` empties the stack's buckets — every version and
delete marker — so `sam delete` can remove them. Run against the local cloud's buckets, as the template
makes them (the input bucket versioned), after a real job filled all three."""
from autoposter_aws.teardown import empty_bucket, versions
from autoposter_local.cloud import LocalCloud
from conftest import SAMPLE


def test_teardown_empties_every_bucket_versions_included_so_they_can_be_deleted():
    with LocalCloud({"TEMPLATES": "minimal", "SCENARIOS": "feed"}) as cloud:
        s3 = cloud.s3
        key = "uploads/Mon film 01.mp4"
        started = cloud.deliver(cloud.upload(SAMPLE, key, {"title": "One"}))["results"][0]
        assert cloud.wait(started["execution_arn"])["status"] == "SUCCEEDED"
        s3.put_object(Bucket=cloud.buckets["input"], Key=key, Body=b"second version")     # a noncurrent version
        s3.delete_object(Bucket=cloud.buckets["input"], Key=key)                           # and a delete marker
        many = [f"uploads/bulk/{i:04d}.txt" for i in range(1203)]                        # more than one page
        for k in many:
            s3.put_object(Bucket=cloud.buckets["work"], Key=k, Body=b"x")
        before = {b: sum(1 for _ in versions(s3, name)) for b, name in cloud.buckets.items()}
        assert before["input"] >= 3 and before["work"] > 1203 and before["cdn"] > 3
        seen = []
        for b in ("input", "work", "cdn"):
            assert empty_bucket(s3, cloud.buckets[b], seen.append) == before[b]
            assert list(versions(s3, cloud.buckets[b])) == []
            s3.delete_bucket(Bucket=cloud.buckets[b])          # what CloudFormation does at `sam delete`
        assert seen[-1] == before["cdn"] and any(n == 1000 for n in seen)   # the work bucket took two requests
        names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        assert not names & set(cloud.buckets.values())
