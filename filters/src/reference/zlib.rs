//! Compress::Zlib's `compress`/`uncompress` (zlib format), for the
//! `Compression` option.

use crate::FilterError;

#[cfg(feature = "zlib")]
pub(super) fn compress(data: &[u8]) -> Result<Vec<u8>, FilterError> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data)
        .and_then(|()| enc.finish())
        .map_err(|e| FilterError::Compression(e.to_string()))
}

/// Inflate at most `limit` octets: a small frame must not become a huge
/// allocation.
#[cfg(feature = "zlib")]
pub(super) fn uncompress(data: &[u8], limit: usize) -> Result<Vec<u8>, FilterError> {
    use std::io::Read;
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::ZlibDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| FilterError::Compression(e.to_string()))?;
    if out.len() > limit {
        return Err(FilterError::Compression(format!(
            "frame inflates past {limit} octets"
        )));
    }
    Ok(out)
}

#[cfg(not(feature = "zlib"))]
pub(super) fn compress(_: &[u8]) -> Result<Vec<u8>, FilterError> {
    Err(FilterError::Compression(
        "built without the zlib feature".into(),
    ))
}

#[cfg(not(feature = "zlib"))]
pub(super) fn uncompress(_: &[u8], _: usize) -> Result<Vec<u8>, FilterError> {
    Err(FilterError::Compression(
        "built without the zlib feature".into(),
    ))
}
