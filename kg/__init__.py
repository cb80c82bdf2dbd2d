"""kg: knowledge-graph decision support for imaging in low back pain."""

DISCLAIMER = (
    "Decision support only: this answer does not replace clinical judgement. "
    "Verify it against the patient's examination and current guidelines."
)
