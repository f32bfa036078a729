//! `data:` URLs, what model SDKs take for an attachment: `data:<media type>;base64,<bytes>`.

use super::media_type::MediaType;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the standard base64 (RFC 4648, padded) of `bytes` to `out`. Bytes may come in pieces:
/// a piece whose length is a multiple of 3 encodes on its own, so only the last needs padding.
pub fn push_base64(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let [a, b, c] = [0, 1, 2].map(|i| group.get(i).copied().unwrap_or(0));
        let triple = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
        for (index, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            out.push(if index <= group.len() { ALPHABET[(triple >> shift & 63) as usize] as char } else { '=' });
        }
    }
}

/// The prefix of a data URL for `media_type`, up to the base64.
pub fn data_url_prefix(media_type: &MediaType) -> String {
    format!("data:{media_type};base64,")
}

/// `data:<media type>;base64,<bytes>`.
pub fn data_url(media_type: &MediaType, bytes: &[u8]) -> String {
    let mut url = data_url_prefix(media_type);
    push_base64(bytes, &mut url);
    url
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn base64(bytes: &[u8]) -> String {
        let mut out = String::new();
        push_base64(bytes, &mut out);
        out
    }

    #[test]
    fn rfc_4648_test_vectors() {
        for (input, expected) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
        assert_eq!(data_url(&MediaType::parse("image/png").unwrap(), b"\x89PNG"), "data:image/png;base64,iVBORw==");
    }

    proptest::proptest! {
        #[test]
        fn pieces_of_three_encode_as_the_whole(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200), piece in 1usize..20) {
            let mut pieced = String::new();
            for chunk in bytes.chunks(piece * 3) {
                push_base64(chunk, &mut pieced);
            }
            proptest::prop_assert_eq!(pieced, base64(&bytes));
        }
    }
}
