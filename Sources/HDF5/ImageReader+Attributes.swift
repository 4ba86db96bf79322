import ReadLimits

/// Attributes in the file's bytes: attribute messages (0x000C, versions 1–3) in an object header,
/// with string values of fixed length (datatype class 3) or variable length (class 9, string),
/// whose characters live in global heap collections ("GCOL").
extension ImageReader {
    /// Where one attribute message's name (up to its NUL), datatype, dataspace and value lie.
    struct AttributeMessage {
        let name: Range<Int>
        let datatype: Range<Int>
        let dataspace: Range<Int>
        let value: Range<Int>
    }

    /// The attribute messages of the object header at `at`; nil when the header may keep attributes
    /// where this reader does not look (an attribute info message: dense storage), shares one, or is
    /// not a version-1 header.
    func attributeMessages(ofHeaderAt at: Int) -> [AttributeMessage]? {
        var attributes: [AttributeMessage] = []
        var readable = true
        let parsed = forEachMessage(ofHeaderAt: at) { message in
            switch message.type {
            case 0x15:  // attribute info: some may live in dense storage
                readable = false
            case 0x0C:
                guard !message.isShared, let attribute = attributeMessage(message.data) else { readable = false; break }
                attributes.append(attribute)
            default:
                break
            }
            return readable
        }
        return parsed && readable ? attributes : nil
    }

    /// Version 1 pads the name, datatype and dataspace to 8 bytes; versions 2 and 3 do not, and
    /// version 3 adds the name's character set before the name.
    private func attributeMessage(_ data: Range<Int>) -> AttributeMessage? {
        let d = data.lowerBound
        guard let version = int(d, 1), (1...3).contains(version), let flags = int(d + 1, 1),
            version == 1 || flags == 0,  // shared datatype or dataspace
            let nameSize = int(d + 2, 2), let typeSize = int(d + 4, 2), let spaceSize = int(d + 6, 2)
        else { return nil }
        func padded(_ size: Int) -> Int { version == 1 ? (size + 7) & ~7 : size }
        let name = d + (version == 3 ? 9 : 8)
        let datatype = name + padded(nameSize), dataspace = datatype + padded(typeSize), value = dataspace + padded(spaceSize)
        guard value <= data.upperBound else { return nil }
        let nameEnd = raw[name..<name + nameSize].firstIndex(of: 0) ?? name + nameSize
        return AttributeMessage(
            name: name..<nameEnd, datatype: datatype..<datatype + typeSize,
            dataspace: dataspace..<dataspace + spaceSize, value: value..<data.upperBound)
    }

    /// The name of `attribute`.
    func name(_ attribute: AttributeMessage) -> String {
        String(decoding: raw[attribute.name], as: UTF8.self)
    }

    /// The shape of `attribute`, and its strings when its datatype is a string of either length form;
    /// nil when the dataspace is null or unreadable, the string type unknown, or a value out of bounds.
    /// Variable-length strings whose lengths add up to more than the read budget (`ReadLimits`: many
    /// references to one long heap object) are refused, not decoded.
    func decode(_ attribute: AttributeMessage) -> StoredAttribute? {
        guard let (shape, count, format) = layout(attribute) else { return nil }
        guard let format else { return StoredAttribute(shape: shape, strings: nil) }
        guard format.length == .variable else {
            return fixedLengthStrings(count, at: attribute.value, format).map {
                StoredAttribute(shape: shape, strings: StringArray($0, shape: shape, format: format))
            }
        }
        // Refused here rather than left to libhdf5: its global-heap reads (H5HG_read) crash on
        // references a fuzzer bends, and it would allocate every string a bomb declares.
        func refused(_ reason: HDF5Error.Reason, _ detail: String) -> StoredAttribute {
            StoredAttribute(
                shape: shape, strings: nil, refusal: HDF5Error(reason, operation: "read", context: ErrorContext(), detail: detail))
        }
        let budget = ReadLimits.budget(forSourceOf: raw.count)
        if let bytes = variableLengthBytes(count, at: attribute.value), bytes > budget {
            return refused(
                .tooLarge,
                "its variable-length strings declare \(ReadLimits.describe(bytes: bytes)), more than the read budget "
                    + "(\(ReadLimits.inflationRatio) × the file's size; docs/security.md)")
        }
        guard let strings = variableLengthStrings(count, at: attribute.value) else {
            return refused(.invalidArgument, "its variable-length strings point outside the file's global heap objects")
        }
        return StoredAttribute(shape: shape, strings: StringArray(strings, shape: shape, format: format))
    }

    /// Whether `decode(attribute)` answers with strings, a refusal or no elements (what the coverage walk,
    /// `File.byteReaderCovers`, asks of every attribute), told without building a string: a fixed-length
    /// string attribute whose values lie in its message, any variable-length one (decoded, or refused
    /// over the budget or outside the global heap), an attribute of another type without elements.
    func decodesOrRefuses(_ attribute: AttributeMessage) -> Bool {
        guard let (shape, count, format) = layout(attribute) else { return false }
        switch format?.length {
        case nil: return shape.contains(0)
        case .fixed(let size): return fixedLengthStringsFit(count, size: size, in: attribute.value)
        case .variable: return true
        }
    }

    /// The shape, element count and string format (nil for any other type) of `attribute`; nil when the
    /// dataspace is null or unreadable, or the datatype unreadable or a string type this reader does not know.
    private func layout(_ attribute: AttributeMessage) -> (shape: [Int], count: Int, format: StringFormat?)? {
        guard let shape = dataspace(attribute.dataspace), let count = ReadLimits.product(shape),
            attribute.datatype.count >= 8, let type = int(attribute.datatype.lowerBound, 4)
        else { return nil }
        let bits = type >> 8
        switch type & 0x0F {
        case 3:
            guard let size = int(attribute.datatype.lowerBound + 4, 4),
                let format = stringFormat(padding: bits & 0x0F, characterSet: bits >> 4 & 0x0F, length: .fixed(size))
            else { return nil }
            return (shape, count, format)
        case 9 where bits & 0x0F == 1:
            guard let format = stringFormat(padding: bits >> 4 & 0x0F, characterSet: bits >> 8 & 0x0F, length: .variable) else {
                return nil
            }
            return (shape, count, format)
        default:
            return (shape, count, nil)
        }
    }

    /// The characters `count` variable-length strings at `value` declare in all; nil when out of bounds.
    private func variableLengthBytes(_ count: Int, at value: Range<Int>) -> Int? {
        guard count <= value.count / 16 else { return nil }
        var total = 0
        for i in 0..<count {
            guard let length = int(value.lowerBound + 16 * i, 4) else { return nil }
            total += length  // at most 2^32 per string and 2^(64-4-32) strings: no overflow
        }
        return total
    }

    private func stringFormat(padding: Int, characterSet: Int, length: StringFormat.Length) -> StringFormat? {
        let paddings: [StringFormat.Padding] = [.nullTerminated, .nullPadded, .spacePadded]
        guard padding < paddings.count, characterSet < 2 else { return nil }
        return StringFormat(length: length, characterSet: characterSet == 1 ? .utf8 : .ascii, padding: paddings[padding])
    }

    private func fixedLengthStrings(_ count: Int, at value: Range<Int>, _ format: StringFormat) -> [String]? {
        guard case .fixed(let size) = format.length, fixedLengthStringsFit(count, size: size, in: value) else { return nil }
        return (0..<count).map { format.strip(raw[value.lowerBound + size * $0..<value.lowerBound + size * ($0 + 1)]) }
    }

    private func fixedLengthStringsFit(_ count: Int, size: Int, in value: Range<Int>) -> Bool {
        size > 0 && count <= value.count / size
    }

    /// Each element is a length (4 bytes) and a global heap ID: collection address (8), object index (4).
    /// Read as libhdf5 hands them to C: the characters up to the first NUL.
    private func variableLengthStrings(_ count: Int, at value: Range<Int>) -> [String]? {
        guard count <= value.count / 16 else { return nil }
        var strings: [String] = []
        strings.reserveCapacity(count)
        // The strings of one attribute usually share a collection: asked of the shared index once.
        var collection: (at: Int, objects: [Int: Range<Int>])?
        for i in 0..<count {
            let element = value.lowerBound + 16 * i
            guard let length = int(element, 4) else { return nil }
            if length == 0 {
                strings.append("")
                continue
            }
            guard let at = address(element + 4), let index = int(element + 12, 4) else { return nil }
            if collection?.at != at {
                guard let objects = heaps.objects(inCollectionAt: at, index: { heapObjects(inCollectionAt: at) }) else { return nil }
                collection = (at, objects)
            }
            guard let object = collection?.objects[index], length <= object.count else { return nil }
            strings.append(String(decoding: raw[object.lowerBound..<object.lowerBound + length].prefix { $0 != 0 }, as: UTF8.self))
        }
        return strings
    }

    /// Where each object of the global heap collection at `at` lies, by index: objects follow the
    /// 16-byte collection header, each a 16-byte header (index, reference count, size) and data padded
    /// to 8 bytes; index 0 is the free space.
    private func heapObjects(inCollectionAt at: Int) -> [Int: Range<Int>]? {
        guard has("GCOL", at: at), int(at + 4, 1) == 1, let size = int(at + 8, 8), size <= raw.count - at else { return nil }
        var objects: [Int: Range<Int>] = [:]
        var p = at + 16
        while p + 16 <= at + size {
            guard let index = int(p, 2), let objectSize = int(p + 8, 8) else { return nil }
            if index == 0 { break }
            guard objectSize <= at + size - (p + 16) else { return nil }
            objects[index] = p + 16..<p + 16 + objectSize
            p += 16 + (objectSize + 7) & ~7
        }
        return objects
    }
}
