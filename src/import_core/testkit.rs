//! Test support: small .xlsx workbooks assembled by hand (an uncompressed ZIP of the few
//! XML parts a reader needs), so that tests need no spreadsheet-writing dependency.

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A ZIP archive with the given files, stored without compression.
pub(crate) fn zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let le16 = |v: &mut Vec<u8>, x: usize| v.extend_from_slice(&(x as u16).to_le_bytes());
    let le32 = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for (name, data) in files {
        let offset = out.len() as u32;
        let (crc, size) = (crc32(data), data.len() as u32);
        le32(&mut out, 0x0403_4b50);
        for x in [20, 0, 0, 0, 0x21] {
            le16(&mut out, x);
        }
        for x in [crc, size, size] {
            le32(&mut out, x);
        }
        le16(&mut out, name.len());
        le16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        le32(&mut central, 0x0201_4b50);
        for x in [20, 20, 0, 0, 0, 0x21] {
            le16(&mut central, x);
        }
        for x in [crc, size, size] {
            le32(&mut central, x);
        }
        for x in [name.len(), 0, 0, 0, 0] {
            le16(&mut central, x);
        }
        le32(&mut central, 0);
        le32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let (cd_offset, cd_size) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    le32(&mut out, 0x0605_4b50);
    for x in [0, 0, files.len(), files.len()] {
        le16(&mut out, x);
    }
    le32(&mut out, cd_size);
    le32(&mut out, cd_offset);
    le16(&mut out, 0);
    out
}

/// A text cell.
pub(crate) fn s(reference: &str, text: &str) -> String {
    let escaped = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(r#"<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{escaped}</t></is></c>"#)
}

/// A plain number cell.
pub(crate) fn n(reference: &str, value: f64) -> String {
    format!(r#"<c r="{reference}"><v>{value}</v></c>"#)
}

/// A number cell formatted as a date (style 1, number format 14).
pub(crate) fn d(reference: &str, serial: f64) -> String {
    format!(r#"<c r="{reference}" s="1"><v>{serial}</v></c>"#)
}

/// An error cell.
pub(crate) fn e(reference: &str, error: &str) -> String {
    format!(r#"<c r="{reference}" t="e"><v>{error}</v></c>"#)
}

/// A boolean cell.
pub(crate) fn b(reference: &str, value: bool) -> String {
    format!(r#"<c r="{reference}" t="b"><v>{}</v></c>"#, u8::from(value))
}

/// A `<row>` of cells.
pub(crate) fn row(number: u32, cells: &[String]) -> String {
    format!(r#"<row r="{number}">{}</row>"#, cells.concat())
}

/// A workbook with the given sheets (name, rows XML).
pub(crate) fn workbook(sheets: &[(&str, Vec<String>)], date1904: bool) -> Vec<u8> {
    let ns = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;
    let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let mut sheet_list = String::new();
    let mut rels = format!(r#"<Relationship Id="rIdS" Type="{rel}/styles" Target="styles.xml"/>"#);
    let mut overrides = String::new();
    let mut files = Vec::new();
    for (i, (name, rows)) in sheets.iter().enumerate() {
        let id = i + 1;
        sheet_list.push_str(&format!(r#"<sheet name="{name}" sheetId="{id}" r:id="rId{id}"/>"#));
        rels.push_str(&format!(
            r#"<Relationship Id="rId{id}" Type="{rel}/worksheet" Target="worksheets/sheet{id}.xml"/>"#
        ));
        overrides.push_str(&format!(
            r#"<Override PartName="/xl/worksheets/sheet{id}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        ));
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><sheetData>{}</sheetData></worksheet>"#,
            rows.concat()
        );
        files.push((format!("xl/worksheets/sheet{id}.xml"), xml.into_bytes()));
    }
    let content_types = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{overrides}</Types>"#
    );
    let root_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    let pr = if date1904 { r#"<workbookPr date1904="1"/>"# } else { "" };
    let workbook =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><workbook {ns}>{pr}<sheets>{sheet_list}</sheets></workbook>"#);
    let wb_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
    );
    let styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet {ns}><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#
    );
    let mut all: Vec<(String, Vec<u8>)> = vec![
        ("[Content_Types].xml".into(), content_types.into_bytes()),
        ("_rels/.rels".into(), root_rels.into_bytes()),
        ("xl/workbook.xml".into(), workbook.into_bytes()),
        ("xl/_rels/workbook.xml.rels".into(), wb_rels.into_bytes()),
        ("xl/styles.xml".into(), styles.into_bytes()),
    ];
    all.append(&mut files);
    let refs: Vec<(&str, Vec<u8>)> = all.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    zip(&refs)
}

#[test]
fn crc32_reference() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}
