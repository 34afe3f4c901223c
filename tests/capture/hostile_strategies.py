"""Hypothesis strategies for hostile input: dates of years 1-9999 at offsets up to ±23:59 in
every wire format (RFC 5322, ISO 8601, epoch seconds and milliseconds), huge and empty text."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

from hypothesis import strategies as st

#: An offset in minutes, as far as RFC 5322 and ISO 8601 can write one.
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)
#: Naive moments of years 1 to 9999 (hypothesis' default bounds are datetime.min and max).
moments = st.datetimes()

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Text that is empty, ordinary, control-laden or huge.
texts = st.one_of(
    st.just(""),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from(["x", "😀", "\x00", "=?utf-8?q?=FF?="]),
        st.integers(1000, 5000),
    ),
)


def _zone(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


@st.composite
def rfc5322_dates(draw: st.DrawFn) -> str:
    """A Date header value: any year written with 1 to 4 digits, any offset, or garbage."""
    when, minutes = draw(moments), draw(offsets)
    year = draw(st.sampled_from([f"{when.year:04d}", str(when.year), f"{when.year % 100:02d}"]))
    day = _DAYS[when.weekday()]
    text = f"{day}, {when.day} {_MONTHS[when.month - 1]} {year} {when:%H:%M:%S} {_zone(minutes)}"
    return draw(st.one_of(st.just(text), st.just(text.replace(day + ", ", "")), texts))


@st.composite
def iso_times(draw: st.DrawFn) -> str:
    """An ISO 8601 date-time with an offset (or Z, or none), or garbage."""
    when, minutes = draw(moments), draw(offsets)
    aware = when.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    return draw(st.sampled_from([aware.isoformat(), when.isoformat() + "Z", when.isoformat()])
                | texts)  # fmt: skip


#: Epoch seconds from before year 1 to after year 9999.
epochs = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(lambda d: int(d.replace(tzinfo=UTC).timestamp()), moments),
)
