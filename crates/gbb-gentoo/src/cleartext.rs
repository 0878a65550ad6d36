/// The signed text of an OpenPGP cleartext-signed message (RFC 4880 section 7): the lines
/// between the `Hash:` headers and the signature block, with dash-escaping undone. Text that
/// is not cleartext-signed is returned as it is. This only extracts the text; checking the
/// signature is a separate step that must not be skipped.
pub fn cleartext_body(text: &str) -> String {
    let Some(start) = text.find("-----BEGIN PGP SIGNED MESSAGE-----") else {
        return text.to_owned();
    };
    let rest = &text[start..];
    // Headers ("Hash: SHA512") end at the first empty line.
    let body = rest
        .split_once("\n\n")
        .or_else(|| rest.split_once("\r\n\r\n"))
        .map_or("", |(_, body)| body);
    let body = body
        .split("\n-----BEGIN PGP SIGNATURE-----")
        .next()
        .unwrap_or_default();
    let mut out = String::with_capacity(body.len());
    for line in body.lines() {
        out.push_str(line.strip_prefix("- ").unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cleartext_body;

    #[test]
    fn signed_and_plain() {
        let signed = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n# a\n- -dashed\nline\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(cleartext_body(signed), "# a\n-dashed\nline\n");
        assert_eq!(cleartext_body("plain\n"), "plain\n");
    }
}
