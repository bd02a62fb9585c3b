//! Enrollment codes: single use, short-lived, typed or scanned (QR) by the app.

use qrcode::QrCode;
use qrcode::render::svg;
use rand::Rng;

use crate::model::Millis;

/// Crockford's base32: no I, L, O, U, so a code read aloud or typed is not misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 16 characters = 80 bits from the CSPRNG.
const CODE_LEN: usize = 16;
/// Default life of an enrollment code (API.md §3).
pub const CODE_TTL_MS: Millis = 5 * 60 * 1000;

pub fn generate(rng: &mut impl Rng) -> String {
    (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Codes are compared after normalising case and dropping separators people type.
pub fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The code as an SVG QR code for the portal to show.
pub fn qr_svg(data: &str) -> Option<String> {
    let code = QrCode::new(data.as_bytes()).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_alphabet_and_normalize() {
        let code = generate(&mut rand::rng());
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(normalize("abcd-efgh ijkm"), "ABCDEFGHIJKM");
        assert_ne!(generate(&mut rand::rng()), code);
    }

    #[test]
    fn qr_is_svg() {
        let svg = qr_svg("0123456789ABCDEF").unwrap_or_default();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }
}
