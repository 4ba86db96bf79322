import Foundation

/// A JSON value whose objects keep their key order, written the way Python's `json.dumps` writes
/// (`", "` and `": "` separators, `null`, floats as `repr`), so configs read like Keras' own.
public indirect enum JSON: Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

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

    /// `json.dumps(value)`.
    public var description: String {
        switch self {
        case .null: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return JSON.pythonRepr(d)
        case let .string(s): return JSON.quoted(s)
        case let .array(items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case let .object(members):
            return "{" + members.map { "\(JSON.quoted($0.0)): \($0.1.description)" }.joined(separator: ", ") + "}"
        }
    }

    /// The member `key` of an object, nil otherwise.
    public subscript(key: String) -> JSON? {
        if case let .object(members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    public var stringValue: String? { if case let .string(s) = self { return s } else { return nil } }
    public var doubleValue: Double? {
        switch self {
        case let .double(d): return d
        case let .int(i): return Double(i)
        default: return nil
        }
    }
    public var intValue: Int? {
        switch self {
        case let .int(i): return i
        case let .double(d) where d == d.rounded() && abs(d) < 9e15: return Int(d)
        default: return nil
        }
    }
    public var arrayValue: [JSON]? { if case let .array(a) = self { return a } else { return nil } }

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

    /// Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 or from 1e16.
    static func pythonRepr(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        // Swift's description is also shortest round-trip; only the layout differs from Python's.
        var text = "\(d)"
        if let e = text.firstIndex(of: "e") {
            var mantissa = String(text[..<e])
            var exponent = String(text[text.index(after: e)...])
            if mantissa.hasSuffix(".0") { mantissa.removeLast(2) }
            let negative = exponent.hasPrefix("-")
            if exponent.hasPrefix("-") || exponent.hasPrefix("+") { exponent.removeFirst() }
            if exponent.count < 2 { exponent = "0" + exponent }
            text = "\(mantissa)e\(negative ? "-" : "+")\(exponent)"
        }
        return text
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value > 0x7E:
                if scalar.value > 0xFFFF {
                    let v = scalar.value - 0x10000
                    out += String(format: "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                } else {
                    out += String(format: "\\u%04x", scalar.value)
                }
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
