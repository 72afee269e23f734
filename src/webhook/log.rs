//! The webhook's log lines: one JSON object per event, in the shape of tracing-subscriber's JSON
//! format (`timestamp`, `level`, `fields`, `target`), written straight into the line. That
//! format passes every field through serde_json and an `io::Write` adaptor: 25k instructions
//! for the review line (callgrind), a twentieth of the whole request. This one takes 12k.

use std::fmt::{self, Write};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The log filter: `RUST_LOG` (default `info`), with rustls's handshake-parsing warnings kept
/// out unless `RUST_LOG` names rustls. rustls warns once per handshake whose SNI is an IP
/// address or malformed: any client can send those, so at `info` they would flood the log.
pub fn filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let directives = rust_log
        .filter(|text| !text.trim().is_empty())
        .unwrap_or("info");
    let filter = tracing_subscriber::EnvFilter::try_new(directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if directives.contains("rustls") {
        filter
    } else {
        filter.add_directive(
            "rustls::msgs::handshake=error"
                .parse()
                .expect("a literal directive should parse"),
        )
    }
}

/// See the module documentation. Spans are not written: the webhook opens none.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut writer)?;
        write!(
            writer,
            "\",\"level\":\"{}\",\"fields\":{{",
            metadata.level()
        )?;
        let mut fields = Fields {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_str("},\"target\":")?;
        write_string(&mut writer, metadata.target())?;
        writer.write_str("}\n")
    }
}

/// Writes an event's fields as the members of a JSON object.
struct Fields<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
    /// The first error, after which nothing more is written.
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let separator = if self.first { "" } else { "," };
        self.first = false;
        self.result = self
            .writer
            .write_str(separator)
            .and_then(|()| write_string(self.writer, field.name()))
            .and_then(|()| self.writer.write_char(':'))
            .and_then(|()| value(self.writer));
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |writer| write_string(writer, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |writer| {
            writer.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |writer| write!(writer, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |writer| write!(writer, "{value}"));
    }

    /// As serde_json writes it (`1.0`, not `1`), and `null` for NaN and the infinities.
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.member(field, |writer| match serde_json::Number::from_f64(value) {
            Some(number) => write!(writer, "{number}"),
            None => writer.write_str("null"),
        });
    }

    /// `%` and `?` fields and the message: their text, as a string.
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |writer| {
            writer.write_char('"')?;
            write!(Escaped(&mut *writer), "{value:?}")?;
            writer.write_char('"')
        });
    }
}

/// `text` as a JSON string.
fn write_string(writer: &mut impl Write, text: &str) -> fmt::Result {
    writer.write_char('"')?;
    Escaped(&mut *writer).write_str(text)?;
    writer.write_char('"')
}

/// Writes what it is given escaped for the inside of a JSON string.
struct Escaped<W>(W);

impl<W: Write> Write for Escaped<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(index) = rest
            .bytes()
            .position(|byte| byte < 0x20 || byte == b'"' || byte == b'\\')
        {
            self.0.write_str(&rest[..index])?;
            match rest.as_bytes()[index] {
                b'"' => self.0.write_str("\\\"")?,
                b'\\' => self.0.write_str("\\\\")?,
                b'\n' => self.0.write_str("\\n")?,
                b'\r' => self.0.write_str("\\r")?,
                b'\t' => self.0.write_str("\\t")?,
                control => write!(self.0, "\\u{control:04x}")?,
            }
            rest = &rest[index + 1..];
        }
        self.0.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::JsonLines;
    use serde_json::Value;
    use std::io;
    use std::sync::{Arc, Mutex};

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn log_event(json_lines: bool) -> Value {
        let captured = Captured::default();
        let writer = captured.clone();
        let make_writer = move || writer.clone();
        let event = || {
            let detail = String::from("tab\there, \"quoted\", back\\slash, bell\u{7}, é");
            tracing::info!(
                uid = "b2c1c6f0",
                dry_run = false,
                count = 3u64,
                delta = -2i64,
                ratio = 1.0f64,
                nan = f64::NAN,
                shown = %detail,
                debugged = ?vec!["a", "b"],
                "admission {}",
                "review"
            );
        };
        if json_lines {
            let subscriber = tracing_subscriber::fmt()
                .event_format(JsonLines)
                .with_writer(make_writer)
                .finish();
            tracing::subscriber::with_default(subscriber, event);
        } else {
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_writer(make_writer)
                .finish();
            tracing::subscriber::with_default(subscriber, event);
        }
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches('\n').count(), 1, "one line: {text}");
        assert!(text.ends_with('\n'));
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"))
    }

    /// The same object as tracing-subscriber's JSON format, timestamp aside, for every kind of
    /// field and text that needs escaping.
    #[test]
    fn lines_are_shaped_as_tracing_subscribers_json() {
        let mut ours = log_event(true);
        let mut theirs = log_event(false);
        for line in [&ours, &theirs] {
            let timestamp = line["timestamp"].as_str().unwrap();
            assert!(
                timestamp.len() > 20 && timestamp.ends_with('Z'),
                "{timestamp}"
            );
        }
        ours.as_object_mut().unwrap().remove("timestamp");
        theirs.as_object_mut().unwrap().remove("timestamp");
        assert_eq!(ours, theirs);
        assert_eq!(ours["fields"]["message"], "admission review");
        assert_eq!(
            ours["fields"]["shown"],
            "tab\there, \"quoted\", back\\slash, bell\u{7}, é"
        );
    }
}
