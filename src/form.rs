//! Form bodies: `application/x-www-form-urlencoded` (also a URL's query
//! string) and `multipart/form-data` (what `curl -F` and the course's Bottle
//! clients send). Both come out as the same list of name/value pairs, in the
//! order sent. Strict: anything this cannot read whole is an error, never a
//! guess, because a guess could put half a body on the board.

/// Why a body is not a form this node reads.
pub type FormError = &'static str;

/// The pairs of a body whose `Content-Type` is `content_type` (absent, or
/// any type but multipart, is read as urlencoded: `curl -d` and the
/// course's scripts do not always say).
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    match content_type.map(media_type) {
        Some((media, params)) if media.eq_ignore_ascii_case("multipart/form-data") => {
            multipart(boundary(params)?.as_bytes(), body)
        }
        _ => urlencoded(body),
    }
}

/// Parses `a=1&b=x%20y`: `+` is a space, `%XX` a byte, a name without `=`
/// has an empty value.
pub fn urlencoded(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut pairs = Vec::new();
    for part in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (key, value) = match part.iter().position(|&b| b == b'=') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &[][..]),
        };
        let key = percent_decode(key).ok_or("malformed form encoding")?;
        let value = percent_decode(value).ok_or("malformed form encoding")?;
        let key = String::from_utf8(key).map_err(|_| "form field name is not UTF-8")?;
        let value = String::from_utf8(value).map_err(|_| "form value is not UTF-8")?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3)?;
                // Two hex digits exactly (from_str_radix would take "+A").
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

/// `multipart/form-data; boundary=XyZ` -> ("multipart/form-data", " boundary=XyZ").
fn media_type(content_type: &str) -> (&str, &str) {
    let (media, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    (media.trim(), params)
}

/// The `boundary` parameter, quoted or not (RFC 2046: 1 to 70 characters).
fn boundary(params: &str) -> Result<String, FormError> {
    let missing = "multipart/form-data without a boundary parameter";
    for param in params.split(';') {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("boundary") {
            continue;
        }
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(quoted) => quoted
                .strip_suffix('"')
                .ok_or("unterminated quoted boundary")?,
            None => value,
        };
        if value.is_empty() || value.len() > 70 {
            return Err("a multipart boundary has 1 to 70 characters");
        }
        return Ok(value.to_owned());
    }
    Err(missing)
}

/// The parts of a multipart body, each a form field named by its
/// `Content-Disposition: form-data; name="..."` header. The body must end
/// with the closing delimiter: one cut short is refused.
pub fn multipart(boundary: &[u8], body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let delimiter = [b"\r\n--", boundary].concat();
    // The first delimiter may open the body, without the CRLF before it;
    // anything before it is a preamble, which RFC 2046 says to ignore.
    let opening = &delimiter[2..];
    let mut rest = if body.starts_with(opening) {
        &body[opening.len()..]
    } else {
        let at = find(body, &delimiter).ok_or("multipart body without its boundary")?;
        &body[at + delimiter.len()..]
    };
    let mut pairs = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            // The closing delimiter; what follows is an epilogue, ignored.
            return Ok(pairs);
        }
        rest = skip_padding(rest)
            .strip_prefix(b"\r\n")
            .ok_or("malformed multipart delimiter line")?;
        let end =
            find(rest, &delimiter).ok_or("multipart body ends before its closing boundary")?;
        pairs.push(part(&rest[..end])?);
        rest = &rest[end + delimiter.len()..];
    }
}

/// RFC 2046 allows spaces and tabs after a delimiter, before its CRLF.
fn skip_padding(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    &bytes[n..]
}

fn part(bytes: &[u8]) -> Result<(String, String), FormError> {
    let at =
        find(bytes, b"\r\n\r\n").ok_or("multipart part without a blank line after its headers")?;
    let (head, value) = (&bytes[..at], &bytes[at + 4..]);
    let head = std::str::from_utf8(head).map_err(|_| "multipart part headers are not UTF-8")?;
    let mut name = None;
    for line in head.split("\r\n") {
        let Some((field, params)) = line.split_once(':') else {
            return Err("malformed multipart part header");
        };
        if field.trim().eq_ignore_ascii_case("content-disposition") {
            name = Some(disposition_name(params)?);
        }
    }
    let name = name.ok_or("multipart part without Content-Disposition: form-data; name=...")?;
    let value = String::from_utf8(value.to_vec()).map_err(|_| "form value is not UTF-8")?;
    Ok((name, value))
}

/// The `name` of `form-data; name="entry"; filename="a.txt"`.
fn disposition_name(params: &str) -> Result<String, FormError> {
    let mut words = params.split(';');
    if !words
        .next()
        .is_some_and(|w| w.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err("a multipart part is not form-data");
    }
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("name") {
            let value = value.trim();
            let value = match value.strip_prefix('"') {
                Some(quoted) => quoted.strip_suffix('"').ok_or("unterminated quoted name")?,
                None => value,
            };
            return Ok(value.to_owned());
        }
    }
    Err("a multipart part without a name")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURL: &str = "multipart/form-data; boundary=------------------------abc123";

    fn curl_body(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(b"--------------------------abc123\r\n");
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(b"--------------------------abc123--\r\n");
        body
    }

    #[test]
    fn curl_dash_f_reads_as_the_same_pairs_as_a_urlencoded_form() {
        let body = curl_body(&[("delete", "0"), ("entry", "hi there\r\nline two")]);
        let pairs = parse(Some(CURL), &body).unwrap();
        assert_eq!(
            pairs,
            [
                ("delete".to_owned(), "0".to_owned()),
                ("entry".to_owned(), "hi there\r\nline two".to_owned())
            ]
        );
        assert_eq!(
            parse(None, b"delete=0&entry=x").unwrap(),
            parse(
                Some("application/x-www-form-urlencoded"),
                b"delete=0&entry=x"
            )
            .unwrap()
        );
    }

    #[test]
    fn multipart_shapes_other_clients_send() {
        // Quoted boundary, a preamble, a file part (curl -F entry=@note.txt),
        // padding after a delimiter, an epilogue.
        let body = b"ignored preamble\r\n--b1 \t\r\nContent-Disposition: form-data; name=\"entry\"; \
            filename=\"note.txt\"\r\nContent-Type: text/plain\r\n\r\nfrom a file\r\n--b1--\r\nepilogue";
        let pairs = parse(
            Some("Multipart/Form-Data; charset=utf-8; boundary=\"b1\""),
            body,
        )
        .unwrap();
        assert_eq!(pairs, [("entry".to_owned(), "from a file".to_owned())]);
    }

    #[test]
    fn a_multipart_body_cut_short_or_malformed_is_refused() {
        let whole = curl_body(&[("entry", "hello")]);
        // Every proper prefix lacks the closing delimiter.
        for cut in 0..whole.len() - 2 {
            assert!(
                parse(Some(CURL), &whole[..cut]).is_err(),
                "a body cut at {cut} bytes was accepted: {:?}",
                String::from_utf8_lossy(&whole[..cut])
            );
        }
        assert!(parse(Some(CURL), &whole).is_ok());
        let bad: [(&str, &[u8]); 6] = [
            ("multipart/form-data", b"--x\r\n\r\n--x--"),
            ("multipart/form-data; boundary=", b"--\r\n\r\n----"),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nno colon\r\n\r\nv\r\n--x--",
            ),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nContent-Disposition: attachment; name=e\r\n\r\nv\r\n--x--",
            ),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--",
            ),
            (
                "multipart/form-data; boundary=x",
                b"--x\r\nContent-Disposition: form-data; name=e\r\n\r\n\xff\r\n--x--",
            ),
        ];
        for (content_type, body) in bad {
            assert!(
                parse(Some(content_type), body).is_err(),
                "accepted {content_type} {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn urlencoded_forms_tolerate_odd_but_valid_shapes() {
        let form = urlencoded(b"a=1&&b&entry=x%3Dy&entry=second").unwrap();
        assert_eq!(form[0], ("a".into(), "1".into()));
        assert_eq!(form[1], ("b".into(), "".into()));
        assert_eq!(form[2], ("entry".into(), "x=y".into()));
        for bad in [
            &b"entry=%zz"[..],
            b"entry=%4",
            b"entry=%+A",
            b"entry=%ff",
            b"%ff=x",
        ] {
            assert!(urlencoded(bad).is_err(), "accepted {bad:?}");
        }
    }
}
