"""Hypothesis strategies the tests share."""

from __future__ import annotations

from hypothesis import strategies as st

#: Any JSON value, small: what a strange payload or export may hold in a field.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
