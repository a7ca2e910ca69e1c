//! The parts of the stdio transport around rmcp: lines read with a bounded buffer, each line
//! screened ([`crate::jsonrpc`]) like a Streamable HTTP body, and 2025-03-26 batches handed to
//! rmcp one message at a time and answered as one array.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::jsonrpc::{self, Element, Kind, Screened};

/// What [`read_line`] found.
#[derive(Debug, PartialEq)]
pub(crate) enum LineRead {
    /// A line, in the buffer.
    Line,
    /// A line longer than the limit, read to its end and dropped.
    TooLong,
    /// The end of the input.
    End,
}

/// Reads one line into `buf` (without its `\n`, or a `\r` before it), keeping at most `max`
/// bytes: a longer line is read to its end and dropped as it comes, never held whole. A last
/// line without a newline is a line.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    buf.clear();
    let (mut too_long, mut any) = (false, false);
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if too_long {
                LineRead::TooLong
            } else if any {
                LineRead::Line
            } else {
                LineRead::End
            });
        }
        any = true;
        let (chunk, used, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], at + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                *buf = Vec::new(); // let the memory go, too
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        reader.consume(used);
        if ends {
            if too_long {
                return Ok(LineRead::TooLong);
            }
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(LineRead::Line);
        }
    }
}

/// What to do with a line.
#[derive(Debug, PartialEq)]
pub(crate) enum Action {
    /// Hand the line to rmcp as it came.
    Pass,
    /// Hand rmcp these messages (a batch's), and write `reply` (a batch answered without rmcp).
    Send {
        /// One message a line, for rmcp.
        messages: Vec<Vec<u8>>,
        /// A reply to write now.
        reply: Option<String>,
    },
    /// Write this reply; rmcp sees nothing.
    Reply(String),
}

/// Screens one line. `negotiated` is the protocol version the client asked for in
/// `initialize` (kept up to date here); a batch is one at the version its messages declare in
/// `_meta`, else the negotiated one, else 2025-03-26.
pub(crate) fn screen_line(line: &[u8], negotiated: &mut Option<String>, batches: &Mutex<Batches>) -> Action {
    let value = match jsonrpc::parse(line) {
        Ok(v) => v,
        Err(r) => return Action::Reply(r.to_line()),
    };
    let version = match &value {
        Value::Array(items) => items
            .iter()
            .find_map(jsonrpc::meta_version)
            .or(negotiated.as_deref())
            .unwrap_or(jsonrpc::ASSUMED_VERSION)
            .to_owned(),
        _ => String::new(),
    };
    match jsonrpc::screen_value(value, &version) {
        Screened::Rejected(r) => Action::Reply(r.to_line()),
        Screened::Single(message, _) => {
            if message.get("method").and_then(Value::as_str) == Some("initialize")
                && let Some(v) = message.get("params").and_then(|p| p.get("protocolVersion")).and_then(Value::as_str)
            {
                *negotiated = Some(v.to_owned());
            }
            Action::Pass
        }
        Screened::Batch(elements) => match batches.lock() {
            Ok(mut b) => b.open(elements),
            Err(_) => Action::Reply(
                jsonrpc::Rejection::new(Value::Null, jsonrpc::INTERNAL_ERROR, "Internal error: batches unavailable")
                    .to_line(),
            ),
        },
    }
}

/// The id prefix of batch requests handed to rmcp: each request of a batch gets an id of ours
/// (`naftiko-batch:N:I`, batch N, element I) so its answer is found and put back in place.
const BATCH_ID: &str = "naftiko-batch:";

/// Batches waiting for rmcp's answers.
#[derive(Default)]
pub(crate) struct Batches {
    next: u64,
    open: HashMap<u64, Batch>,
}

/// One batch: the answers so far, in element order, and the ids the requests came with.
struct Batch {
    replies: Vec<Option<Value>>,
    ids: Vec<Value>,
    waiting: usize,
}

impl Batch {
    /// The batch's answer: the array of replies, or nothing when only notifications came.
    fn finish(self) -> Option<String> {
        let replies: Vec<Value> = self.replies.into_iter().flatten().collect();
        (!replies.is_empty()).then(|| Value::Array(replies).to_string())
    }
}

impl Batches {
    /// Opens a batch: its rejected elements answered, its requests renamed for rmcp.
    fn open(&mut self, elements: Vec<Element>) -> Action {
        let number = self.next;
        self.next += 1;
        let count = elements.len();
        let mut batch = Batch { replies: vec![None; count], ids: vec![Value::Null; count], waiting: 0 };
        let mut messages = Vec::with_capacity(count);
        for (i, element) in elements.into_iter().enumerate() {
            match element {
                Element::Rejected(r) => batch.replies[i] = Some(r.to_json()),
                Element::Pass(mut message, Kind::Request { id }) => {
                    message["id"] = Value::String(format!("{BATCH_ID}{number}:{i}"));
                    batch.ids[i] = id;
                    batch.waiting += 1;
                    messages.push(message.to_string().into_bytes());
                }
                Element::Pass(message, Kind::Notification | Kind::Response) => {
                    messages.push(message.to_string().into_bytes())
                }
            }
        }
        if batch.waiting == 0 {
            return Action::Send { messages, reply: batch.finish() };
        }
        self.open.insert(number, batch);
        Action::Send { messages, reply: None }
    }

    /// Takes a line rmcp wrote: an answer to a batch element is kept (with its id restored)
    /// until the batch is complete, then the batch's array is the line to write; any other
    /// line is written as it is.
    pub(crate) fn answer(&mut self, line: String) -> Option<String> {
        if self.open.is_empty() || !line.contains(BATCH_ID) {
            return Some(line);
        }
        let Ok(mut reply) = serde_json::from_str::<Value>(&line) else { return Some(line) };
        let at = reply
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| id.strip_prefix(BATCH_ID))
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(n, i)| Some((n.parse::<u64>().ok()?, i.parse::<usize>().ok()?)));
        let Some((number, i)) = at.filter(|_| reply.get("method").is_none()) else { return Some(line) };
        let Some(batch) = self.open.get_mut(&number) else { return Some(line) };
        if i >= batch.replies.len() || batch.replies[i].is_some() {
            return Some(line);
        }
        reply["id"] = std::mem::take(&mut batch.ids[i]);
        batch.replies[i] = Some(reply);
        batch.waiting -= 1;
        if batch.waiting > 0 {
            return None;
        }
        self.open.remove(&number).and_then(Batch::finish)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    async fn lines(input: &[u8], max: usize) -> Vec<(LineRead, Vec<u8>)> {
        // A tiny buffer, so lines span many reads.
        let mut reader = tokio::io::BufReader::with_capacity(4, input);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            let r = read_line(&mut reader, &mut buf, max).await.expect("in memory");
            if r == LineRead::End {
                return out;
            }
            out.push((r, buf.clone()));
        }
    }

    #[tokio::test]
    async fn long_lines_are_skipped_to_their_end() {
        let got = lines(b"short\r\n0123456789abcdef\n\nlast-0123", 10).await;
        assert_eq!(
            got,
            vec![
                (LineRead::Line, b"short".to_vec()),
                (LineRead::TooLong, Vec::new()),
                (LineRead::Line, Vec::new()),
                (LineRead::Line, b"last-0123".to_vec()),
            ]
        );
        assert_eq!(lines(b"0123456789\n", 10).await, vec![(LineRead::Line, b"0123456789".to_vec())]);
        assert_eq!(lines(b"0123456789x", 10).await, vec![(LineRead::TooLong, Vec::new())]);
    }

    #[test]
    fn lines_are_screened_and_initialize_sets_the_version() {
        let batches = Mutex::new(Batches::default());
        let mut negotiated = None;
        let mut screen = |line: &str| screen_line(line.as_bytes(), &mut negotiated, &batches);
        assert!(matches!(screen("{\"jsonrpc\""), Action::Reply(r) if r.contains("-32700")));
        assert!(
            matches!(screen(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#), Action::Reply(r) if r.contains("-32602"))
        );
        assert_eq!(screen(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#), Action::Pass);
        // Before `initialize`, a batch is 2025-03-26's.
        let batch = r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#;
        assert!(matches!(screen(batch), Action::Send { reply: None, .. }));
        let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#;
        assert_eq!(screen(init), Action::Pass);
        assert!(matches!(screen(batch), Action::Reply(r) if r.contains("protocol version 2025-06-18")));
    }

    #[test]
    fn batch_answers_are_gathered_in_order() {
        let mut batches = Batches::default();
        let elements = vec![
            Element::Pass(
                json!({"jsonrpc": "2.0", "id": "a", "method": "tools/list"}),
                Kind::Request { id: json!("a") },
            ),
            Element::Pass(json!({"jsonrpc": "2.0", "method": "notifications/x"}), Kind::Notification),
            Element::Rejected(jsonrpc::Rejection::new(json!(2), jsonrpc::INVALID_PARAMS, "bad")),
            Element::Pass(json!({"jsonrpc": "2.0", "id": 7, "method": "ping"}), Kind::Request { id: json!(7) }),
        ];
        let Action::Send { messages, reply: None } = batches.open(elements) else { panic!("waits for rmcp") };
        let sent: Vec<Value> = messages.iter().map(|m| serde_json::from_slice(m).unwrap()).collect();
        assert_eq!(sent[0]["id"], "naftiko-batch:0:0");
        assert_eq!(sent[1].get("id"), None);
        assert_eq!(sent[2]["id"], "naftiko-batch:0:3");
        // Other lines pass; the batch's answers wait for each other and come out in order.
        assert_eq!(
            batches.answer("{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}".into()).as_deref(),
            Some("{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}")
        );
        assert_eq!(batches.answer(r#"{"jsonrpc":"2.0","id":"naftiko-batch:0:3","result":{}}"#.into()), None);
        let done = batches.answer(r#"{"jsonrpc":"2.0","id":"naftiko-batch:0:0","result":{"tools":[]}}"#.into());
        let done: Value = serde_json::from_str(&done.expect("complete")).unwrap();
        assert_eq!(done[0]["id"], "a");
        assert_eq!(done[1]["error"]["code"], jsonrpc::INVALID_PARAMS);
        assert_eq!(done[2]["id"], 7);
        assert_eq!(done.as_array().map(Vec::len), Some(3));
        assert!(batches.open.is_empty());
    }
}
