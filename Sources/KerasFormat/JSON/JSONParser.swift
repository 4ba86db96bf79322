/// RFC 8259 JSON text to `JSON`, for files from anywhere: strict UTF-8, no control characters in
/// strings, no unpaired surrogates, nesting at most `maximumDepth` deep. Every failure is a
/// `KerasFormatError` naming the byte offset, never a trap. Iterative, so hostile nesting cannot
/// overflow the stack. Beyond RFC 8259 it takes Python's `NaN`, `Infinity` and `-Infinity`, which
/// `json.dumps` writes for non-finite floats.
struct JSONParser {
    /// Deeper nesting is refused: Keras configs nest about ten levels, and the values built here
    /// are freed, compared and written recursively.
    static let maximumDepth = 512

    private let bytes: [UInt8]
    private let file: String
    private var index = 0

    init(_ bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    /// An array or object being filled: `keys` runs one ahead of `items` while a member's value is read.
    private struct Container {
        let isObject: Bool
        var items: [JSON] = []
        var keys: [String] = []

        var value: JSON { isObject ? .object(Array(zip(keys, items))) : .array(items) }
    }

    /// The one value of the whole text.
    mutating func parseDocument() throws -> JSON {
        var open: [Container] = []
        nextValue: while true {
            skipSpace()
            var value: JSON
            switch try peek("a value") {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                let isObject = bytes[index] == UInt8(ascii: "{")
                guard open.count < Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth) levels") }
                index += 1
                skipSpace()
                if take(isObject ? "}" : "]") {
                    value = isObject ? .object([]) : .array([])
                } else {
                    open.append(Container(isObject: isObject, keys: isObject ? [try memberKey()] : []))
                    continue nextValue
                }
            default:
                value = try scalar()
            }
            // The value completes an item; each container it fills up closes and is an item in turn.
            while !open.isEmpty {
                open[open.count - 1].items.append(value)
                skipSpace()
                let isObject = open[open.count - 1].isObject
                if take(",") {
                    if isObject { open[open.count - 1].keys.append(try memberKey()) }
                    continue nextValue
                }
                guard take(isObject ? "}" : "]") else {
                    throw failure(isObject ? "expected , or } in an object" : "expected , or ] in an array")
                }
                value = open.removeLast().value
            }
            skipSpace()
            guard index == bytes.count else { throw failure("trailing characters after the value") }
            return value
        }
    }

    // MARK: - tokens

    private func failure(_ what: String, at offset: Int? = nil) -> KerasFormatError {
        KerasFormatError(.malformed, file: file, expected: "valid JSON", found: "\(what) at byte \(offset ?? index)")
    }

    private func peek(_ wanted: String) throws -> UInt8 {
        guard index < bytes.count else { throw failure("end of text where \(wanted) should be") }
        return bytes[index]
    }

    private mutating func take(_ token: Unicode.Scalar) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(token.value) else { return false }
        index += 1
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    /// `"key" :` of an object member, with the spaces around it.
    private mutating func memberKey() throws -> String {
        skipSpace()
        guard try peek("a member name") == UInt8(ascii: "\"") else { throw failure("expected a member name in quotes") }
        let key = try string()
        skipSpace()
        guard take(":") else { throw failure("expected : after a member name") }
        return key
    }

    private mutating func scalar() throws -> JSON {
        switch bytes[index] {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "N"): return try literal("NaN", .double(.nan))
        case UInt8(ascii: "I"): return try literal("Infinity", .double(.infinity))
        case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "I"):
            return try literal("-Infinity", .double(-.infinity))
        default: return try number()
        }
    }

    private mutating func literal(_ word: String, _ value: JSON) throws -> JSON {
        guard bytes[index...].starts(with: word.utf8) else { throw failure("unexpected characters") }
        index += word.utf8.count
        return value
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`: an `.int` when it has no fraction or
    /// exponent and fits in `Int`, else a `.double` (±infinity past Double's range).
    private mutating func number() throws -> JSON {
        let start = index
        func digits() -> Int {
            let first = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - first
        }
        _ = take("-")
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0 else { throw failure("unexpected characters", at: start) }
        guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            throw failure("a number with a leading zero", at: start)
        }
        var isInteger = true
        if take(".") {
            isInteger = false
            guard digits() > 0 else { throw failure("a number without digits after the point", at: start) }
        }
        if take("e") || take("E") {
            isInteger = false
            _ = take("+") || take("-")
            guard digits() > 0 else { throw failure("a number without exponent digits", at: start) }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isInteger, let integer = Int(text) { return .int(integer) }
        guard let double = Double(text) else { throw failure("a number Swift cannot read", at: start) }
        return .double(double)
    }

    /// A quoted string; `index` is at the opening quote.
    private mutating func string() throws -> String {
        let start = index
        index += 1
        var utf8: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: utf8, as: UTF8.self)  // validated while read
            case UInt8(ascii: "\\"):
                let scalar = try escape()
                utf8.append(contentsOf: String(scalar).utf8)
            case 0..<0x20:
                throw failure("a control character (U+\(hex(UInt32(byte)))) in a string")
            case 0..<0x80:
                utf8.append(byte)
                index += 1
            default:
                let length = try utf8SequenceLength()
                utf8.append(contentsOf: bytes[index..<index + length])
                index += length
            }
        }
        throw failure("a string that is never closed", at: start)
    }

    /// The character an escape stands for; `index` is at the backslash.
    private mutating func escape() throws -> Unicode.Scalar {
        let start = index
        index += 1
        guard index < bytes.count else { throw failure("a string that is never closed", at: start) }
        let letter = bytes[index]
        index += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return Unicode.Scalar(letter)
        case UInt8(ascii: "b"): return "\u{8}"
        case UInt8(ascii: "f"): return "\u{c}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let code = try hex4()
            switch code {
            case 0xD800..<0xDC00:
                // A high surrogate must be followed by an escaped low one; together they are one character.
                guard bytes[index...].starts(with: "\\u".utf8) else { throw failure("an unpaired surrogate \\u\(hex(code))", at: start) }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("an unpaired surrogate \\u\(hex(code))", at: start) }
                return Unicode.Scalar(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))!
            case 0xDC00..<0xE000:
                throw failure("an unpaired surrogate \\u\(hex(code))", at: start)
            default:
                return Unicode.Scalar(code)!
            }
        default:
            throw failure("an unknown escape", at: start)
        }
    }

    /// Four hex digits of a `\u` escape.
    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("a \\u escape without four hex digits") }
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { throw failure("a \\u escape without four hex digits") }
            value = value << 4 | UInt32(digit)
        }
        index += 4
        return value
    }

    /// The length of the well-formed UTF-8 sequence at `index` (RFC 3629: no overlong forms, no
    /// surrogates, nothing past U+10FFFF).
    private func utf8SequenceLength() throws -> Int {
        var decoder = UTF8()
        var rest = bytes[index...].makeIterator()
        guard case let .scalarValue(scalar) = decoder.decode(&rest) else { throw failure("invalid UTF-8") }
        return UTF8.width(scalar)
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
