extension JSON {
    /// `json.dumps(value)`: `", "` and `": "` separators, non-ASCII characters as `\u` escapes,
    /// floats as Python's `repr`, so configs read byte for byte like Keras' own.
    public var description: String {
        var text = ""
        write(.python, to: &text)
        return text
    }

    /// Compact JSON as Foundation's `JSONSerialization` writes it with `.withoutEscapingSlashes`: no
    /// spaces, non-ASCII characters as UTF-8, members in the order given (sort them first for
    /// `.sortedKeys`). Safetensors headers are written so.
    public var compactDescription: String {
        var text = ""
        write(.compact, to: &text)
        return text
    }

    private enum Style {
        case python, compact
    }

    private func write(_ style: Style, to text: inout String) {
        let (itemSeparator, keySeparator) = style == .python ? (", ", ": ") : (",", ":")
        switch self {
        case .null: text += "null"
        case let .bool(b): text += b ? "true" : "false"
        case let .int(i): text += String(i)
        case let .double(d): text += JSON.pythonRepr(d)
        case let .string(s): JSON.writeQuoted(s, style, to: &text)
        case let .array(items):
            text += "["
            for (position, item) in items.enumerated() {
                if position > 0 { text += itemSeparator }
                item.write(style, to: &text)
            }
            text += "]"
        case let .object(members):
            text += "{"
            for (position, (key, value)) in members.enumerated() {
                if position > 0 { text += itemSeparator }
                JSON.writeQuoted(key, style, to: &text)
                text += keySeparator
                value.write(style, to: &text)
            }
            text += "}"
        }
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

    /// A quoted string. Both styles escape quotes, backslashes and control characters (short forms
    /// where JSON has them, else `\u00xx`); Python's `ensure_ascii` also escapes everything past
    /// `~`, characters beyond U+FFFF as surrogate pairs.
    private static func writeQuoted(_ s: String, _ style: Style, to text: inout String) {
        func escape(_ unit: UInt32) {
            let digits = String(unit, radix: 16)
            text += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
        }
        text += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{8}": text += "\\b"
            case "\u{c}": text += "\\f"
            case _ where scalar.value < 0x20: escape(scalar.value)
            case _ where style == .python && scalar.value > 0x7E:
                if scalar.value > 0xFFFF {
                    let offset = scalar.value - 0x10000
                    escape(0xD800 + (offset >> 10))
                    escape(0xDC00 + (offset & 0x3FF))
                } else {
                    escape(scalar.value)
                }
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
