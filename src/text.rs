//! Text a peer sent, cut to a bound before it is kept, logged or shown: the one rule for the
//! client's errors, the JSON reader's ignored keys and the mock's messages and journal.

use std::borrow::Cow;

/// `text` whole when it has at most `max_chars` characters; else its first `max_chars` and
/// `…`, cut at a character boundary.
///
/// ```
/// use coreweave_api::text::cut;
///
/// assert_eq!(cut("short", 10), "short");
/// assert_eq!(cut("déjà vu", 4), "déjà…");
/// ```
pub fn cut(text: &str, max_chars: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}
