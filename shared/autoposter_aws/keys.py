"""Where everything lives in S3: the only module that knows the key layout.

Work bucket, per job (``job_id`` = execution name, from bucket, key and ETag; the job itself —
link, title, video facts, the batch list — travels in the execution's input)::

    jobs/{job}/frames/{b:05d}.tar      batch b of candidate frames (a tar of {index:06d}.jpg)
    jobs/{job}/analysis/{b:05d}.json   batch b analysed (faces, salient region, scored crops),
                                       or why it failed
    errors/{job}.json                  an upload that was refused (nothing starts)
    feedback/{job}.json                M13: {"<scenario>@<frame_time>": {"ctr", "retention"}}

CDN bucket, per job: ``videos/{job}/`` posters, ``index.html``, then ``manifest.json`` last.
"""
from __future__ import annotations


def frames_batch(job_id: str, batch: int) -> str:
    return f"jobs/{job_id}/frames/{batch:05d}.tar"


def analysis(job_id: str, batch: int) -> str:
    return f"jobs/{job_id}/analysis/{batch:05d}.json"


def error(job_id: str) -> str:
    return f"errors/{job_id}.json"


def feedback(job_id: str) -> str:
    return f"feedback/{job_id}.json"


def cdn_prefix(job_id: str) -> str:
    return f"videos/{job_id}/"
