"""The rules of ``slow_progress`` (:mod:`lrdoctor.detect.progress`), one family per module: each rule is
a function ``(run, th) -> Finding | None``; the detector tries them in order and reports the first that holds."""
