import Foundation

/// A TensorFlow event file (`events.out.tfevents.<time>.<host>.<pid>.<n>.v2`): TFRecord-framed
/// `tensorflow.Event` protocol buffers, the first one naming the file version `brain.Event:2`.
///
/// Only what TensorBoard's scalar dashboard reads is written: scalar summaries as TF 2's
/// `tf.summary.scalar` writes them (a float32 tensor tagged with the `scalars` plugin) and the
/// `SessionLog.START` that tells TensorBoard to drop the steps a resumed run writes again. The few
/// protobuf fields are encoded here rather than through generated code: five messages, every field
/// number from `tensorflow/core/util/event.proto`, `summary.proto`, `tensor.proto`.
struct EventFile {
    let path: String

    /// Creates the file in `directory` (created if needed) named as TensorFlow names it.
    init(directory: String, index: Int) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw RecordError(path: directory, problem: "cannot be created: \(error.localizedDescription)")
        }
        let now = Date().timeIntervalSince1970
        let host = ProcessInfo.processInfo.hostName
        path = "\(directory)/events.out.tfevents.\(Int(now)).\(host).\(getpid()).\(index).v2"
        var version = Protobuf()
        version.double(1, now.rounded(.down))
        version.bytes(3, Data("brain.Event:2".utf8))
        try RecordFile.replace(path, with: Self.record(version.data))
    }

    /// Appends one event holding the scalar `value` under `tag` at `step`.
    func scalar(_ tag: String, _ value: Float, step: Int) throws {
        var plugin = Protobuf()
        plugin.bytes(1, Data("scalars".utf8))  // PluginData.plugin_name
        var metadata = Protobuf()
        metadata.message(1, plugin)  // SummaryMetadata.plugin_data
        var tensor = Protobuf()
        tensor.varint(1, 1)  // TensorProto.dtype = DT_FLOAT
        tensor.message(2, Protobuf())  // tensor_shape: a scalar
        tensor.bytes(4, withUnsafeBytes(of: value.bitPattern.littleEndian) { Data($0) })  // tensor_content
        var summaryValue = Protobuf()
        summaryValue.bytes(1, Data(tag.utf8))  // Summary.Value.tag
        summaryValue.message(8, tensor)  // tensor
        summaryValue.message(9, metadata)  // metadata
        var summary = Protobuf()
        summary.message(1, summaryValue)  // Summary.value
        try append(step: step) { $0.message(5, summary) }  // Event.summary
    }

    /// Appends `SessionLog.START` at `step`: TensorBoard discards what earlier files hold at or after it.
    func sessionStart(step: Int) throws {
        var log = Protobuf()
        log.varint(1, 1)  // SessionLog.status = START
        try append(step: step) { $0.message(6, log) }  // Event.session_log
    }

    private func append(step: Int, _ body: (inout Protobuf) -> Void) throws {
        var event = Protobuf()
        event.double(1, Date().timeIntervalSince1970)  // Event.wall_time
        if step != 0 { event.varint(2, UInt64(step)) }  // Event.step (proto3: 0 is omitted)
        body(&event)
        try RecordFile.append(path, Self.record(event.data))
    }

    /// TFRecord framing: length, masked CRC-32C of the length, data, masked CRC-32C of the data.
    static func record(_ data: Data) -> Data {
        var length = Data()
        withUnsafeBytes(of: UInt64(data.count).littleEndian) { length.append(contentsOf: $0) }
        var out = length
        withUnsafeBytes(of: CRC32C.masked(length).littleEndian) { out.append(contentsOf: $0) }
        out.append(data)
        withUnsafeBytes(of: CRC32C.masked(data).littleEndian) { out.append(contentsOf: $0) }
        return out
    }
}

/// The protocol buffer wire format, as far as event files need it.
struct Protobuf {
    private(set) var data = Data()

    mutating func varint(_ field: Int, _ value: UInt64) {
        tag(field, wireType: 0)
        raw(value)
    }

    mutating func double(_ field: Int, _ value: Double) {
        tag(field, wireType: 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
    }

    mutating func bytes(_ field: Int, _ value: Data) {
        tag(field, wireType: 2)
        raw(UInt64(value.count))
        data.append(value)
    }

    mutating func message(_ field: Int, _ value: Protobuf) { bytes(field, value.data) }

    private mutating func tag(_ field: Int, wireType: UInt64) { raw(UInt64(field) << 3 | wireType) }

    private mutating func raw(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            data.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        data.append(UInt8(rest))
    }
}

/// CRC-32C (Castagnoli), masked as TFRecord masks it (`tensorflow/core/lib/hash/crc32c.h`).
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { index in
        (0..<8).reduce(UInt32(index)) { crc, _ in crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }

    static func checksum(_ data: Data) -> UInt32 {
        ~data.reduce(~UInt32(0)) { crc, byte in table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }

    static func masked(_ data: Data) -> UInt32 {
        let crc = checksum(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}
