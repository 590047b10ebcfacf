use super::*;
use proptest::prelude::*;

/// Lines joined with CRLF, as a message arrives from SMTP.
fn crlf(lines: &[&str]) -> String {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s
}

fn postfix_hard() -> String {
    crlf(&[
        "Return-Path: <>",
        "Received: by mail.lighthouse.example (Postfix)",
        "\tid 4Xyz1234; Tue, 15 Apr 2025 10:00:02 +0100 (BST)",
        "Date: Tue, 15 Apr 2025 10:00:02 +0100 (BST)",
        "From: MAILER-DAEMON@mail.lighthouse.example (Mail Delivery System)",
        "Subject: Undelivered Mail Returned to Sender",
        "To: bounces@lighthouse.example",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;",
        "\tboundary=\"4Xyz1234.1744707602/mail.lighthouse.example\"",
        "Message-Id: <20250415090002.4Xyz1234@mail.lighthouse.example>",
        "",
        "This is a MIME-encapsulated message.",
        "",
        "--4Xyz1234.1744707602/mail.lighthouse.example",
        "Content-Description: Notification",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "This is the mail system at host mail.lighthouse.example.",
        "",
        "I'm sorry to have to inform you that your message could not",
        "be delivered to one or more recipients.",
        "",
        "<jo.bloggs@example.org>: host mx.example.org[192.0.2.10] said: 550 5.1.1",
        "    <jo.bloggs@example.org>: Recipient address rejected: User unknown in",
        "    virtual mailbox table (in reply to RCPT TO command)",
        "",
        "--4Xyz1234.1744707602/mail.lighthouse.example",
        "Content-Description: Delivery report",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mail.lighthouse.example",
        "X-Postfix-Queue-ID: 4Xyz1234",
        "X-Postfix-Sender: rfc822; bounces@lighthouse.example",
        "Arrival-Date: Tue, 15 Apr 2025 10:00:01 +0100 (BST)",
        "",
        "Final-Recipient: rfc822; jo.bloggs@example.org",
        "Original-Recipient: rfc822;jo.bloggs@example.org",
        "Action: failed",
        "Status: 5.1.1",
        "Remote-MTA: dns; mx.example.org",
        "Diagnostic-Code: smtp; 550 5.1.1 <jo.bloggs@example.org>: Recipient address",
        "    rejected: User unknown in virtual mailbox table",
        "",
        "--4Xyz1234.1744707602/mail.lighthouse.example",
        "Content-Description: Undelivered Message Headers",
        "Content-Type: text/rfc822-headers",
        "",
        "Return-Path: <bounces@lighthouse.example>",
        "From: City Events <events@lighthouse.example>",
        "To: jo.bloggs@example.org",
        "Subject: Spring events at the museum",
        "X-Lighthouse-Message: m-01HV7Q2ZK3",
        "Message-Id: <m-01HV7Q2ZK3@lighthouse.example>",
        "",
        "--4Xyz1234.1744707602/mail.lighthouse.example--",
    ])
}

#[test]
fn postfix_hard_bounce() {
    let b = parse_bounce(&postfix_hard()).expect("a bounce");
    assert_eq!(
        b,
        Bounce {
            recipient: "jo.bloggs@example.org".into(),
            kind: BounceKind::Hard,
            status: "5.1.1".into(),
            diagnostic: Some(
                "550 5.1.1 <jo.bloggs@example.org>: Recipient address rejected: User unknown in virtual mailbox table"
                    .into()
            ),
            campaign_ref: Some("m-01HV7Q2ZK3".into()),
        }
    );
    assert_eq!(
        parse_bounces(&postfix_hard()).len(),
        1,
        "the text part does not add a second"
    );
}

#[test]
fn delayed_is_soft_and_reads_ref_from_message_rfc822() {
    let raw = crlf(&[
        "From: MAILER-DAEMON@mail.lighthouse.example (Mail Delivery System)",
        "Subject: Delayed Mail (still being retried)",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; boundary=delay42; report-type=delivery-status",
        "",
        "--delay42",
        "Content-Type: text/plain",
        "",
        "This is the mail system. Your message has not been delivered yet.",
        "",
        "--delay42",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mail.lighthouse.example",
        "",
        "Final-Recipient: rfc822; sam@slow.example.net",
        "Action: delayed",
        "Status: 4.4.1",
        "Diagnostic-Code: X-Postfix; connect to mx.slow.example.net[198.51.100.7]:25:",
        "    Connection timed out",
        "Will-Retry-Until: Sat, 19 Apr 2025 10:00:01 +0100 (BST)",
        "",
        "--delay42",
        "Content-Type: message/rfc822",
        "",
        "From: City Events <events@lighthouse.example>",
        "To: sam@slow.example.net",
        "x-lighthouse-message:   m-SOFT-7  ",
        "Subject: Hello",
        "",
        "Body of the original, which mentions 550 5.1.1 <other@example.com> and must be ignored.",
        "--delay42--",
    ]);
    let all = parse_bounces(&raw);
    assert_eq!(all.len(), 1);
    let b = &all[0];
    assert_eq!(b.recipient, "sam@slow.example.net");
    assert_eq!(b.kind, BounceKind::Soft);
    assert_eq!(b.status, "4.4.1");
    assert_eq!(
        b.diagnostic.as_deref(),
        Some("connect to mx.slow.example.net[198.51.100.7]:25: Connection timed out")
    );
    assert_eq!(b.campaign_ref.as_deref(), Some("m-SOFT-7"));
}

#[test]
fn delayed_with_five_status_is_still_soft() {
    let raw = crlf(&[
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b",
        "",
        "--b",
        "Content-Type: message/delivery-status",
        "",
        "Final-Recipient: rfc822; a@example.com",
        "Action: delayed",
        "Status: 5.0.0",
        "--b--",
    ]);
    assert_eq!(parse_bounce(&raw).map(|b| b.kind), Some(BounceKind::Soft));
}

#[test]
fn two_recipients_and_a_delivered_one() {
    let raw = crlf(&[
        "From: Mail Delivery Subsystem <mailer-daemon@relay.example>",
        "To: bounces@lighthouse.example",
        "Subject: Delivery Status Notification (Failure)",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"==b 1==\"",
        "",
        "--==b 1==",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Delivery to the following recipients failed.",
        "--==b 1==",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; relay.example",
        "Original-Envelope-Id: env-99",
        "",
        "Final-Recipient: rfc822; <gone@example.com>",
        "Action: failed",
        "Status: 5.1.1 (bad destination mailbox address)",
        "Diagnostic-Code: smtp; 550 5.1.1 No such user",
        "",
        "Final-Recipient: rfc822; full@example.net",
        "Action: failed",
        "Status: 4.2.2",
        "Diagnostic-Code: smtp; 452 4.2.2 Mailbox full",
        "",
        "Final-Recipient: rfc822; fine@example.net",
        "Action: delivered",
        "Status: 2.0.0",
        "",
        "--==b 1==",
        "Content-Type: text/rfc822-headers",
        "",
        "X-Lighthouse-Message: m-2",
        "--==b 1==--",
    ]);
    let all = parse_bounces(&raw);
    let summary: Vec<_> = all
        .iter()
        .map(|b| (b.recipient.as_str(), b.kind, b.status.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("gone@example.com", BounceKind::Hard, "5.1.1"),
            ("full@example.net", BounceKind::Soft, "4.2.2"),
        ]
    );
    assert!(all.iter().all(|b| b.campaign_ref.as_deref() == Some("m-2")));
    assert_eq!(all[1].diagnostic.as_deref(), Some("452 4.2.2 Mailbox full"));
    assert_eq!(parse_bounce(&raw).map(|b| b.recipient), Some("gone@example.com".into()));
}

#[test]
fn folded_and_oddly_cased_headers_lf_endings() {
    let raw = [
        "FROM: postmaster@example.com",
        "content-TYPE: Multipart/Report;",
        "  REPORT-TYPE=delivery-status;",
        "\tBoundary=",
        "  \"folded-boundary\"",
        "",
        "preamble",
        "--folded-boundary",
        "CONTENT-type: MESSAGE/DELIVERY-STATUS",
        "",
        "reporting-mta: dns; mx.example.com",
        "",
        "final-recipient:",
        "  rfc822;",
        "  folded@example.com",
        "ACTION: Failed",
        "status:",
        "  5.2.1",
        "diagnostic-code: smtp;",
        "\t550 5.2.1 mailbox",
        "\t disabled",
        "",
        "--folded-boundary",
        "Content-Type: Text/RFC822-Headers",
        "",
        "",
        "Subject: the original",
        "X-LIGHTHOUSE-MESSAGE:",
        " m-folded",
        "--folded-boundary--",
        "epilogue: 550 5.1.1 <ignored@example.com>",
    ]
    .join("\n");
    let b = parse_bounce(&raw).expect("a bounce");
    assert_eq!(b.recipient, "folded@example.com");
    assert_eq!(b.kind, BounceKind::Hard);
    assert_eq!(b.status, "5.2.1");
    assert_eq!(b.diagnostic.as_deref(), Some("550 5.2.1 mailbox disabled"));
    assert_eq!(b.campaign_ref.as_deref(), Some("m-folded"));
    assert_eq!(parse_bounces(&raw).len(), 1);
}

#[test]
fn nested_multipart_and_base64_status_part() {
    let status = "Final-Recipient: rfc822; deep@example.com\r\nAction: failed\r\nStatus: 5.7.1\r\n\
                  Diagnostic-Code: smtp; 550 5.7.1 Rejected by policy\r\n";
    // The status part above, base64-encoded in 76-column lines.
    let encoded = b64(status.as_bytes());
    let mut lines = vec![
        "From: postmaster@example.com",
        "Content-Type: multipart/mixed; boundary=outer",
        "",
        "--outer",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=inner",
        "",
        "--inner",
        "Content-Type: message/delivery-status",
        "Content-Transfer-Encoding: base64",
        "",
    ];
    let chunks: Vec<String> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    lines.extend(chunks.iter().map(String::as_str));
    lines.extend(["--inner--", "--outer--"]);
    let b = parse_bounce(&crlf(&lines)).expect("a bounce");
    assert_eq!(
        (b.recipient.as_str(), b.kind, b.status.as_str()),
        ("deep@example.com", BounceKind::Hard, "5.7.1")
    );
    assert_eq!(b.diagnostic.as_deref(), Some("550 5.7.1 Rejected by policy"));
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn quoted_printable_text_part_fallback() {
    let raw = crlf(&[
        "From: postmaster@example.com",
        "Content-Type: multipart/mixed; boundary=qp",
        "",
        "--qp",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "Delivery failed for <ren=C3=A9e@example.fr>: 550 5.1.1 unknown =",
        "mailbox",
        "--qp--",
    ]);
    let b = parse_bounce(&raw).expect("a bounce");
    assert_eq!(b.recipient, "renée@example.fr");
    assert_eq!(
        b.diagnostic.as_deref(),
        Some("Delivery failed for <renée@example.fr>: 550 5.1.1 unknown mailbox")
    );
}

#[test]
fn status_missing_uses_diagnostic_or_default() {
    let dsn = |group: &[&str]| {
        let mut lines = vec![
            "Content-Type: multipart/report; boundary=x",
            "",
            "--x",
            "Content-Type: message/delivery-status",
            "",
        ];
        lines.extend_from_slice(group);
        lines.push("--x--");
        parse_bounces(&crlf(&lines))
    };
    let b = &dsn(&[
        "Final-Recipient: rfc822; a@example.com",
        "Action: failed",
        "Diagnostic-Code: smtp; 554 5.7.1 spam",
    ])[0];
    assert_eq!((b.kind, b.status.as_str()), (BounceKind::Hard, "5.7.1"));
    let b = &dsn(&["Final-Recipient: rfc822; a@example.com", "Action: failed"])[0];
    assert_eq!(
        (b.kind, b.status.as_str(), b.diagnostic.as_deref()),
        (BounceKind::Hard, "5.0.0", None)
    );
    let b = &dsn(&["Final-Recipient: rfc822; a@example.com", "Action: delayed"])[0];
    assert_eq!((b.kind, b.status.as_str()), (BounceKind::Soft, "4.0.0"));
    // No Final-Recipient: Original-Recipient serves; no Action: the status class decides.
    let b = &dsn(&["Original-Recipient: rfc822; o@example.com", "Status: 4.3.0"])[0];
    assert_eq!((b.recipient.as_str(), b.kind), ("o@example.com", BounceKind::Soft));
    // Only success notices: no bounce, and no fallback guessing from the text.
    assert!(dsn(&[
        "Final-Recipient: rfc822; ok@example.com",
        "Action: delivered",
        "Status: 2.0.0"
    ])
    .is_empty());
}

#[test]
fn plaintext_fallback_single_line() {
    let b = parse_bounce("550 5.1.1 <user@example.com>: user unknown").expect("a bounce");
    assert_eq!(b.recipient, "user@example.com");
    assert_eq!(b.kind, BounceKind::Hard);
    assert_eq!(b.status, "5.1.1");
    assert_eq!(
        b.diagnostic.as_deref(),
        Some("550 5.1.1 <user@example.com>: user unknown")
    );
    assert_eq!(b.campaign_ref, None);

    let soft = parse_bounce("Note: 452 4.2.2 <full@example.com> mailbox full\n").expect("a bounce");
    assert_eq!((soft.kind, soft.status.as_str()), (BounceKind::Soft, "4.2.2"));
    let bare = parse_bounce("RCPT TO:<bare@example.com> 550 User unknown").expect("a bounce");
    assert_eq!((bare.kind, bare.status.as_str()), (BounceKind::Hard, "5.0.0"));
}

#[test]
fn exim_style_plaintext_with_failed_recipients_header_and_quoted_original() {
    let raw = crlf(&[
        "Return-path: <>",
        "From: Mail Delivery System <Mailer-Daemon@smtp.example.co.uk>",
        "To: bounces@lighthouse.example",
        "Subject: Mail delivery failed: returning message to sender",
        "X-Failed-Recipients: alex@example.co.uk, nobody@example.co.uk",
        "Auto-Submitted: auto-replied",
        "",
        "This message was created automatically by mail delivery software.",
        "",
        "A message that you sent could not be delivered to one or more of its",
        "recipients. This is a permanent error. The following address(es) failed:",
        "",
        "  alex@example.co.uk",
        "    host mx.example.co.uk [203.0.113.5]",
        "    SMTP error from remote mail server after RCPT TO:",
        "    550 5.1.1 The email account that you tried to reach does not exist",
        "  nobody@example.co.uk",
        "    (generated from alias)",
        "    Unrouteable address",
        "",
        "------ This is a copy of the message, including all the headers. ------",
        "",
        "From: City Events <events@lighthouse.example>",
        "X-Lighthouse-Message: m-exim-1",
        "Subject: Hello",
        "",
        "Hi!",
    ]);
    let all = parse_bounces(&raw);
    let summary: Vec<_> = all
        .iter()
        .map(|b| (b.recipient.as_str(), b.status.as_str(), b.kind))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("alex@example.co.uk", "5.1.1", BounceKind::Hard),
            ("nobody@example.co.uk", "5.0.0", BounceKind::Hard),
        ]
    );
    assert!(all.iter().all(|b| b.campaign_ref.as_deref() == Some("m-exim-1")));
}

#[test]
fn gmail_style_plaintext() {
    let raw = crlf(&[
        "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Subject: Delivery Status Notification (Failure)",
        "Content-Type: text/plain; charset=UTF-8",
        "",
        "** Address not found **",
        "",
        "Your message wasn't delivered to kim@example.com because the address couldn't be found,",
        "or is unable to receive mail.",
        "",
        "The response from the remote server was:",
        "550 5.1.1 The email account that you tried to reach does not exist.",
    ]);
    let b = parse_bounce(&raw).expect("a bounce");
    assert_eq!((b.recipient.as_str(), b.status.as_str()), ("kim@example.com", "5.1.1"));
}

#[test]
fn top_level_lighthouse_header_is_not_the_original() {
    let raw = crlf(&[
        "From: postmaster@example.com",
        "X-Lighthouse-Message: not-this-one",
        "",
        "550 5.1.1 <u@example.com>: unknown",
    ]);
    assert_eq!(parse_bounce(&raw).and_then(|b| b.campaign_ref), None);
}

#[test]
fn garbage_is_none() {
    for raw in [
        "",
        "\r\n\r\n",
        "hello world",
        "--\r\n--\r\n.\r\n",
        "Content-Type: multipart/report; boundary=\"\"\r\n\r\n--\r\n",
        "Content-Type: multipart/report; boundary=z\r\n\r\n--z\r\nContent-Type: message/delivery-status\r\n\r\n--z--",
        "From: friend@example.com\r\nSubject: lunch\r\n\r\nSee you at 5.30 by the 550 bus, version 5.1.1a.\r\n",
        "From: a@example.com\r\n\r\nCall 555-1234 or write to info@example.com\r\n",
        "\u{0}\u{1}\u{fffd}ÿ€",
    ] {
        assert_eq!(parse_bounces(raw), Vec::new(), "{raw:?}");
        assert_eq!(parse_bounce(raw), None);
    }
}

#[test]
fn input_beyond_one_mebibyte_is_ignored() {
    let mut raw = String::from("From: postmaster@example.com\r\n\r\n");
    while raw.len() < MAX_INPUT {
        raw.push_str("padding é padding\r\n");
    }
    raw.push_str("550 5.1.1 <late@example.com>: user unknown\r\n");
    assert_eq!(parse_bounce(&raw), None);
    let kept = cap(&raw).len();
    assert!(kept <= MAX_INPUT && kept + 4 > MAX_INPUT, "{kept}");
}

#[test]
fn status_code_finder() {
    assert_eq!(find_status("550 5.1.1 x"), Some("5.1.1"));
    assert_eq!(find_status("(4.7.0)"), Some("4.7.0"));
    assert_eq!(find_status("5.100.999"), Some("5.100.999"));
    assert_eq!(
        find_status("192.5.1.1 and 5.1.1.1 and v5.1.1 and 3.1.1 and 5.1234.1"),
        None
    );
    assert_eq!(find_status("5.1."), None);
    assert_eq!(find_status("5."), None);
}

#[test]
fn address_finder() {
    assert_eq!(
        find_address("to <a.b+c@x.example>:").as_deref(),
        Some("a.b+c@x.example")
    );
    assert_eq!(
        find_address("<not an address> then b@y.example.").as_deref(),
        Some("b@y.example")
    );
    assert_eq!(find_address("mailto:c@z.example").as_deref(), Some("c@z.example"));
    assert_eq!(find_address("user@localhost or @example.com or x@.com"), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn never_panics_on_arbitrary_strings(raw in "\\PC{0,400}") {
        let _ = parse_bounces(&raw);
    }

    #[test]
    fn never_panics_on_mime_like_noise(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("\r\n".to_string()),
                Just("\n".to_string()),
                Just("--b".to_string()),
                Just("--b--".to_string()),
                Just("Content-Type: multipart/report; boundary=b".to_string()),
                Just("Content-Type: message/delivery-status".to_string()),
                Just("Content-Type: text/rfc822-headers".to_string()),
                Just("Content-Transfer-Encoding: base64".to_string()),
                Just("Content-Transfer-Encoding: quoted-printable".to_string()),
                Just("Final-Recipient: rfc822; a@b.example".to_string()),
                Just("Action: failed".to_string()),
                Just("Status: 5.1.1".to_string()),
                Just(" ".to_string()),
                Just("=".to_string()),
                Just("\"".to_string()),
                Just(";".to_string()),
                "\\PC{0,12}",
            ],
            0..60,
        )
    ) {
        let raw: String = parts.concat();
        for b in parse_bounces(&raw) {
            prop_assert!(!b.recipient.is_empty());
            prop_assert!(b.status.starts_with('4') || b.status.starts_with('5'));
        }
    }

    #[test]
    fn never_panics_on_mutated_sample(cut in 0usize..3000, insert in "\\PC{0,20}") {
        let sample = postfix_hard();
        let mut at = cut.min(sample.len());
        while !sample.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{}{}", &sample[..at], insert, &sample[at..]);
        let _ = parse_bounces(&mutated);
        let _ = parse_bounces(&sample[..at]);
    }
}
