/// How strings are stored: variable or fixed length, character set and padding.
///
/// h5py's forms: a Python `str` (scalar or list) is `.variableUTF8`; `np.array([b'a', b'bc'])`
/// is `.fixed(length: 2)` (ASCII, null-padded); `h5py.string_dtype('ascii')` is `.variableASCII`.
public struct StringFormat: Sendable, Hashable {
    /// Variable length (H5T_VARIABLE) or a fixed number of bytes per string.
    public enum Length: Sendable, Hashable {
        /// Any length per string (H5T_VARIABLE), what h5py writes for Python `str`.
        case variable
        /// Exactly this many bytes per string, padded as `Padding` says (NumPy's `S<n>`).
        case fixed(Int)
    }

    /// The character set tag (H5T_CSET_ASCII or H5T_CSET_UTF8).
    public enum CharacterSet: Sendable, Hashable {
        /// `ascii` (H5T_CSET_ASCII) or `utf8` (H5T_CSET_UTF8): a tag only, libhdf5 does not check the bytes.
        case ascii, utf8
    }

    /// How unused bytes are filled (H5T_STR_NULLTERM, H5T_STR_NULLPAD, H5T_STR_SPACEPAD).
    public enum Padding: Sendable, Hashable {
        /// `nullTerminated` ends a string at its first zero byte; `nullPadded` fills with zeros (NumPy's `S<n>`);
        /// `spacePadded` with spaces (Fortran's way).
        case nullTerminated, nullPadded, spacePadded
    }

    /// Variable or fixed length.
    public var length: Length
    /// ASCII or UTF-8 tag.
    public var characterSet: CharacterSet
    /// Padding of unused bytes.
    public var padding: Padding

    /// A format from its three parts.
    public init(length: Length, characterSet: CharacterSet, padding: Padding) {
        self.length = length
        self.characterSet = characterSet
        self.padding = padding
    }

    /// Variable-length UTF-8, null-terminated: what h5py writes for Python `str`.
    public static let variableUTF8 = StringFormat(
        length: .variable, characterSet: .utf8, padding: .nullTerminated)

    /// Variable-length ASCII, null-terminated: h5py's `string_dtype('ascii')` and `bytes`.
    public static let variableASCII = StringFormat(
        length: .variable, characterSet: .ascii, padding: .nullTerminated)

    /// Fixed-length strings of `length` bytes; the defaults match NumPy's `S<length>`.
    public static func fixed(
        length: Int, characterSet: CharacterSet = .ascii, padding: Padding = .nullPadded
    ) -> StringFormat {
        StringFormat(length: .fixed(length), characterSet: characterSet, padding: padding)
    }

    /// Fixed length just long enough for the longest of `strings` in UTF-8 (at least 1),
    /// as NumPy picks for `np.array([b'a', b'bc'])`.
    public static func fixed(
        fitting strings: [String], characterSet: CharacterSet = .ascii, padding: Padding = .nullPadded
    ) -> StringFormat {
        fixed(
            length: max(1, strings.map(\.utf8.count).max() ?? 1),
            characterSet: characterSet, padding: padding)
    }
}
