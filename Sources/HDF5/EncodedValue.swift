/// Values ready to be written: a datatype (used as file and memory type), a shape, and the
/// elements either as native bytes or as strings to pass as variable-length C strings.
struct EncodedValue {
    enum Elements {
        case bytes([UInt8])
        case variableLengthStrings([String])
    }

    let type: Handle
    let shape: [Int]
    let elements: Elements

    /// Raw numeric or bool elements typed by `raw.dataType`.
    init(_ raw: RawArray, _ context: ErrorContext) throws {
        type = try raw.dataType.makeType(context)
        shape = raw.shape
        elements = .bytes(raw.bytes)
    }

    /// Strings in their requested format; fixed-length ones are padded here.
    init(_ array: StringArray, _ context: ErrorContext) throws {
        type = try array.format.makeType(context)
        shape = array.shape
        elements = try array.format.encode(array.strings, context)
    }

    /// Calls `write` with a pointer to the element buffer; skipped for zero elements,
    /// since there is nothing to transfer and empty arrays have no base address.
    func write(_ write: (UnsafeRawPointer) throws -> Void) throws {
        switch elements {
        case .bytes(let bytes):
            guard !bytes.isEmpty else { return }
            try bytes.withUnsafeBytes { try write($0.baseAddress!) }
        case .variableLengthStrings(let strings):
            guard !strings.isEmpty else { return }
            // One buffer of NUL-terminated strings, then an array of pointers into it.
            var offsets: [Int] = []
            var characters: [CChar] = []
            for string in strings {
                offsets.append(characters.count)
                characters += string.utf8CString
            }
            try characters.withUnsafeBufferPointer { characters in
                let pointers = offsets.map { characters.baseAddress! + $0 }
                try pointers.withUnsafeBytes { try write($0.baseAddress!) }
            }
        }
    }
}
