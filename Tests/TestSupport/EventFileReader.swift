import Foundation

/// A reader of TensorFlow event files for the tests: TFRecord frames (lengths and CRCs checked
/// with an independent bitwise CRC-32C) decoded into the scalar summaries TensorBoard shows.
public struct EventFileReader {
    /// One decoded `tensorflow.Event`.
    public struct Event: Equatable {
        public var step: Int = 0
        public var fileVersion: String?
        /// `SessionLog.status` when the event is a session log.
        public var sessionStatus: Int?
        /// The scalar summaries: tag, plugin name, dtype, value (float32 from tensor_content).
        public var scalars: [Scalar] = []
    }

    public struct Scalar: Equatable {
        public var tag: String
        public var plugin: String
        public var dataType: Int
        public var value: Float
    }

    public let events: [Event]

    public init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var events: [Event] = []
        var offset = 0
        while offset < data.count {
            let length = Int(Self.uint64(data, offset))
            let lengthBytes = data.subdata(in: offset..<offset + 8)
            guard Self.uint32(data, offset + 8) == Self.maskedCRC(lengthBytes) else { throw ReadError("bad length CRC at \(offset)") }
            let body = data.subdata(in: offset + 12..<offset + 12 + length)
            guard Self.uint32(data, offset + 12 + length) == Self.maskedCRC(body) else { throw ReadError("bad data CRC at \(offset)") }
            events.append(try Self.event(body))
            offset += 16 + length
        }
        self.events = events
    }

    /// The scalars of every event, as (step, tag, value).
    public var scalars: [(step: Int, tag: String, value: Float)] {
        events.flatMap { event in event.scalars.map { (event.step, $0.tag, $0.value) } }
    }

    struct ReadError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private static func event(_ data: Data) throws -> Event {
        var event = Event()
        for (field, value) in try fields(data) {
            switch (field, value) {
            case (2, .varint(let step)): event.step = Int(step)
            case (3, .bytes(let text)): event.fileVersion = String(decoding: text, as: UTF8.self)
            case (5, .bytes(let summary)):
                for case (1, .bytes(let value)) in try fields(summary) { event.scalars.append(try scalar(value)) }
            case (6, .bytes(let log)):
                for case (1, .varint(let status)) in try fields(log) { event.sessionStatus = Int(status) }
            default: break
            }
        }
        return event
    }

    private static func scalar(_ data: Data) throws -> Scalar {
        var scalar = Scalar(tag: "", plugin: "", dataType: 0, value: .nan)
        for (field, value) in try fields(data) {
            guard case .bytes(let bytes) = value else { continue }
            switch field {
            case 1: scalar.tag = String(decoding: bytes, as: UTF8.self)
            case 8:
                for (tensorField, tensorValue) in try fields(bytes) {
                    if tensorField == 1, case .varint(let type) = tensorValue { scalar.dataType = Int(type) }
                    if tensorField == 4, case .bytes(let content) = tensorValue, content.count == 4 {
                        scalar.value = Float(bitPattern: uint32(content, 0))
                    }
                }
            case 9:
                for case (1, .bytes(let plugin)) in try fields(bytes) {
                    for case (1, .bytes(let name)) in try fields(plugin) { scalar.plugin = String(decoding: name, as: UTF8.self) }
                }
            default: break
            }
        }
        return scalar
    }

    enum Value { case varint(UInt64), bytes(Data), fixed64(UInt64), fixed32(UInt32) }

    private static func fields(_ data: Data) throws -> [(Int, Value)] {
        let bytes = [UInt8](data)
        var index = 0, out: [(Int, Value)] = []
        func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard index < bytes.count, shift < 64 else { throw ReadError("truncated varint") }
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
        }
        while index < bytes.count {
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: out.append((field, .varint(try varint())))
            case 1:
                guard index + 8 <= bytes.count else { throw ReadError("truncated fixed64") }
                out.append((field, .fixed64(uint64(Data(bytes[index..<index + 8]), 0)))); index += 8
            case 2:
                let length = Int(try varint())
                guard index + length <= bytes.count else { throw ReadError("truncated field \(field)") }
                out.append((field, .bytes(Data(bytes[index..<index + length])))); index += length
            case 5:
                guard index + 4 <= bytes.count else { throw ReadError("truncated fixed32") }
                out.append((field, .fixed32(uint32(Data(bytes[index..<index + 4]), 0)))); index += 4
            default: throw ReadError("wire type \(key & 7)")
            }
        }
        return out
    }

    private static func uint64(_ data: Data, _ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[data.startIndex + offset + $1]) << (8 * UInt64($1)) }
    }

    private static func uint32(_ data: Data, _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[data.startIndex + offset + $1]) << (8 * UInt32($1)) }
    }

    /// Bit by bit, on purpose unlike the table-driven writer it checks.
    private static func maskedCRC(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        crc = ~crc
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
