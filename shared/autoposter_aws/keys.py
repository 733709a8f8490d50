"""Where everything lives in S3: the only module that knows the key layout.

Work bucket (expires by the template's lifecycle rule), per job::

    jobs/{job}/job.json                          the job: the upload, its metadata, where its work is
    jobs/{job}/{settings}/segments/{i}.tar|json  segment i's frames (a pack of JPEGs) and findings
    jobs/{job}/{settings}/sampling.json          shots, bars, the frames analysed
    jobs/{job}/{settings}/analysis/{b}.json      batch b analysed, or why it failed
    feedback/{job}.json                          M13: {"<scenario>@<frame_time>": {"ctr", "retention"}}

``{settings}`` is the analysis settings' digest: the stored analysis is versioned by what made it.

Input bucket: uploads under the template's prefix; ``overrides/{key}.json`` beside them.

CDN bucket, per upload — a path anyone can derive from the upload's key::

    videos/{key}/latest.json      status of the upload's last job: published (with its manifest), refused, failed
    videos/{key}/index.html       a link to the latest set's gallery
    videos/{key}/{set}/…          one set of posters, index.html, manifest.json (last); {set} = execution name
"""
from __future__ import annotations


def job_doc(job_id: str) -> str:
    return f"jobs/{job_id}/job.json"


def job_store(job_id: str, digest: str) -> str:
    return f"jobs/{job_id}/{digest}/"


def feedback(job_id: str) -> str:
    return f"feedback/{job_id}.json"


def overrides(key: str) -> str:
    return f"overrides/{key}.json"


def cdn_prefix(key: str) -> str:
    """``videos/<key>/`` — the upload's key as it is (S3 keys may hold spaces and any Unicode; URL-encode
    it in a browser), with empty, ``.`` and ``..`` segments made harmless for URL normalisation."""
    parts = [p if p not in ("", ".", "..") else p.replace(".", "%2E") or "_" for p in key.split("/")]
    return "videos/" + "/".join(parts) + "/"


def status(key: str) -> str:
    return cdn_prefix(key) + "latest.json"
