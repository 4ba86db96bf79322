/// A JSON value whose objects keep their key order, written the way Python's `json.dumps` writes
/// (`", "` and `": "` separators, `null`, floats as `repr`), so configs read like Keras' own.
public indirect enum JSON: Equatable, Sendable, CustomStringConvertible {
    /// JSON's `null` (Python's `None`).
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number written without a fraction or exponent, kept as an integer as Python's `json` keeps it.
    case int(Int)
    /// A number with a fraction or exponent (and Python's `NaN`, `Infinity`).
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSON])
    /// An object's members in file order (Keras' configs are compared and rewritten in their own order).
    case object([(String, JSON)])

    /// Structural equality, objects compared in order; an `int` equals a `double` of the same value, as in
    /// Python.
    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.int(x), .double(y)), let (.double(y), .int(x)): return Double(x) == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            // Key order is presentation, not meaning.
            return Dictionary(x, uniquingKeysWith: { a, _ in a }) == Dictionary(y, uniquingKeysWith: { a, _ in a })
        default: return false
        }
    }

    /// The member `key` of an object, nil otherwise.
    public subscript(key: String) -> JSON? {
        if case let .object(members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    /// The text of a string, nil otherwise.
    public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
    /// A number as a Double, nil for anything else.
    public var doubleValue: Double? {
        switch self {
        case let .double(d): return d
        case let .int(i): return Double(i)
        default: return nil
        }
    }
    /// An integer, or a float with an integral value below 9e15 (JSON writers may write `3.0`); nil otherwise.
    public var intValue: Int? {
        switch self {
        case let .int(i): return i
        case let .double(d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
        default: return nil
        }
    }
    /// The items of an array, nil otherwise.
    public var arrayValue: [JSON]? { if case let .array(a) = self { return a } else { return nil } }
    /// `true` or `false`, nil for anything else (numbers included).
    public var boolValue: Bool? { if case let .bool(b) = self { return b } else { return nil } }
    /// The members of an object, in order.
    public var objectValue: [(String, JSON)]? { if case let .object(m) = self { return m } else { return nil } }

    /// Parses JSON text (member order kept); `file` names it in errors.
    public static func parse(_ text: String, file: String = "JSON") throws -> JSON {
        try parse(Array(text.utf8), file: file)
    }

    /// Parses UTF-8 JSON bytes (member order kept), as they come from a file: anything but strict
    /// RFC 8259 JSON (see `JSONParser`) is a `KerasFormatError` naming `file` and the byte offset.
    public static func parse(_ utf8: [UInt8], file: String = "JSON") throws -> JSON {
        var parser = JSONParser(utf8, file: file)
        return try parser.parseDocument()
    }
}
