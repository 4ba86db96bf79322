/// The restricted unpickler of `.pth` files: it reads `data.pkl` of a `torch.save` checkpoint the way
/// `torch.load(weights_only=True)` does (torch/_weights_only_unpickler.py, `Unpickler.load`), and
/// never more. No Python object is made and nothing is called: the opcodes build plain values, and
/// the few globals it accepts are interpreted here (`TorchPickle.supportedGlobals`).
///
/// Refused, with the file and the global or opcode named: a global of the modules torch blocks (`os`,
/// `posix`, `nt`, `sys`), any global outside the list, REDUCE of anything but the listed functions,
/// NEWOBJ, BUILD of anything but a dict, a persistent id other than a storage, and every opcode
/// torch's unpickler lacks (protocol 4's STACK_GLOBAL and FRAME among them). Everything is bounded by
/// the pickle's own length: each opcode reads inside it and pushes at most one value.
enum TorchPickle {
    /// A value the pickle builds.
    indirect enum Value {
        case none, bool(Bool), int(Int), float(Double), string(String)
        /// The items and the nesting depth (`Value.depth`), kept so it is never recomputed.
        case tuple([Value], depth: Int)
        case list(Box)
        case dict(Box)
        /// An accepted global, `module.name`.
        case global(String)
        case storage(Storage)
        case tensor(Tensor)

        var typeName: String {
            switch self {
            case .none: "None"
            case .bool: "bool"
            case .int: "int"
            case .float: "float"
            case .string: "str"
            case .tuple: "tuple"
            case .list: "list"
            case .dict: "dict"
            case .global(let name): name
            case .storage: "storage"
            case .tensor: "tensor"
            }
        }

        /// How deeply containers nest in the value (0 for a scalar, 1 for a flat tuple, list or dict).
        var depth: Int {
            switch self {
            case .tuple(_, let depth): depth
            case .list(let box), .dict(let box): box.depth
            default: 0
            }
        }
    }

    /// The deepest nesting of tuples, lists and dicts accepted. A state dict nests 4 deep (a wrapper
    /// dict, the state dict, a rebuild call's arguments, its sizes); the limit keeps a hostile pickle
    /// from nesting a million tuples, whose release would overflow the stack.
    static let maximumDepth = 64

    /// A list's or dict's items, shared by every reference to it (the memo), as in Python.
    ///
    /// Once a box is inside another container or a tuple it is sealed: items may no longer be added,
    /// so the depth recorded in every enclosing container stays exact. Python's pickler fills each
    /// container before it stores it in another, so no file torch writes adds items to a sealed box.
    final class Box {
        var items: [Value] = []
        var entries: [(key: Value, value: Value)] = []
        var depth = 1
        var isSealed = false
    }

    /// `('storage', torch.FloatStorage, key, location, numel)`: the bytes of `data/<key>`.
    struct Storage {
        let key: String
        let dtype: SafetensorsFile.DType
        let elementCount: Int
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, …)`: a strided view of a storage.
    struct Tensor {
        let storage: Storage
        let offset: Int
        let shape: [Int]
        let strides: [Int]
    }

    /// torch's storage classes and the element type each holds.
    static let storageTypes: [String: SafetensorsFile.DType] = [
        "torch.FloatStorage": .f32, "torch.DoubleStorage": .f64, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16,
        "torch.LongStorage": .i64, "torch.IntStorage": .i32, "torch.ShortStorage": .i16, "torch.CharStorage": .i8,
        "torch.ByteStorage": .u8, "torch.BoolStorage": .bool
    ]

    /// The rebuild functions and classes a state dict needs; a subset of torch's allow-list
    /// (`_get_allowed_globals`), so whatever is read here `torch.load(weights_only=True)` reads too.
    static let supportedGlobals: Set<String> =
        Set(storageTypes.keys).union([
            "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_parameter_with_state"
        ])

    /// Modules torch refuses outright (`_blocklisted_modules`).
    static let blockedModules: Set<String> = ["os", "posix", "nt", "sys"]

    /// The object `bytes` (the `data.pkl` entry of `file`) pickles.
    static func load(_ bytes: [UInt8], file: String, entry: String) throws -> Value {
        var reader = Reader(bytes: bytes, file: file, entry: entry)
        return try reader.run()
    }

    struct Reader {
        let bytes: [UInt8]
        let file: String
        let entry: String
        var position = 0
        var stack: [Value] = []
        var marks: [[Value]] = []
        var memo: [Int: Value] = [:]

        func refuse(_ expected: String, _ found: String) -> KerasFormatError {
            KerasFormatError(.refused, file: file, layer: entry, expected: expected, found: "\(found) at byte \(position)")
        }

        mutating func read(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, count <= bytes.count - position else {
                throw refuse("\(count) more bytes of pickle", "the end of \(entry) (truncated)")
            }
            defer { position += count }
            return bytes[position..<(position + count)]
        }

        mutating func littleEndian(_ count: Int) throws -> UInt64 {
            try read(count).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }

        mutating func line() throws -> String {
            guard let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw refuse("a newline-terminated name", "the end of \(entry)")
            }
            defer { position = end + 1 }
            return String(decoding: bytes[position..<end], as: UTF8.self)
        }

        mutating func pop() throws -> Value {
            guard let top = stack.popLast() else { throw refuse("a value on the stack", "an empty stack") }
            return top
        }

        mutating func popMark() throws -> [Value] {
            guard let outer = marks.popLast() else { throw refuse("a MARK", "none") }
            defer { stack = outer }
            return stack
        }

        mutating func run() throws -> Value {
            while true {
                let opcode = try read(1).first!
                switch opcode {
                case 0x80: _ = try read(1)  // PROTO
                case 0x2E: return try pop()  // STOP
                case 0x63: try global()  // GLOBAL
                case 0x52: try reduce()  // REDUCE
                case 0x62: try build()  // BUILD
                case 0x51: try persistentLoad()  // BINPERSID
                case 0x28: marks.append(stack); stack = []  // MARK
                case 0x74: stack.append(try tuple(popMark()))  // TUPLE
                case 0x29: stack.append(.tuple([], depth: 1))  // EMPTY_TUPLE
                case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                    let count = Int(opcode - 0x84)
                    guard stack.count >= count else { throw refuse("\(count) values for a tuple", "\(stack.count)") }
                    let items = Array(stack.suffix(count))
                    stack.removeLast(count)
                    stack.append(try tuple(items))
                case 0x5D: stack.append(.list(Box()))  // EMPTY_LIST
                case 0x7D: stack.append(.dict(Box()))  // EMPTY_DICT
                case 0x61:  // APPEND
                    let item = try pop()
                    let box = try list(opcode: "APPEND")
                    try insert([item], into: box)
                    box.items.append(item)
                case 0x65:  // APPENDS
                    let items = try popMark()
                    let box = try list(opcode: "APPENDS")
                    try insert(items, into: box)
                    box.items += items
                case 0x73:  // SETITEM
                    let value = try pop()
                    let key = try pop()
                    let box = try dict(opcode: "SETITEM")
                    try insert([key, value], into: box)
                    box.entries.append((key, value))
                case 0x75:  // SETITEMS
                    let items = try popMark()
                    guard items.count % 2 == 0 else { throw refuse("key-value pairs", "\(items.count) values") }
                    let box = try dict(opcode: "SETITEMS")
                    try insert(items, into: box)
                    for index in stride(from: 0, to: items.count, by: 2) { box.entries.append((items[index], items[index + 1])) }
                case 0x4E: stack.append(.none)  // NONE
                case 0x88: stack.append(.bool(true))  // NEWTRUE
                case 0x89: stack.append(.bool(false))  // NEWFALSE
                case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4)))))  // BININT
                case 0x4B: stack.append(.int(Int(try littleEndian(1))))  // BININT1
                case 0x4D: stack.append(.int(Int(try littleEndian(2))))  // BININT2
                case 0x8A:  // LONG1
                    let count = Int(try littleEndian(1))
                    guard count <= 8 else { throw refuse("an integer of at most 8 bytes", "\(count) bytes") }
                    let raw = try littleEndian(count)
                    let shift = UInt64(64 - 8 * count)
                    stack.append(.int(count == 0 ? 0 : Int(Int64(bitPattern: raw << shift) >> Int64(shift))))
                case 0x47:  // BINFLOAT (big-endian)
                    stack.append(.float(Double(bitPattern: try read(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
                case 0x58:  // BINUNICODE
                    let count = try littleEndian(4)
                    stack.append(.string(String(decoding: try read(Int(count)), as: UTF8.self)))
                case 0x71: memo[Int(try littleEndian(1))] = try top()  // BINPUT
                case 0x72: memo[Int(try littleEndian(4))] = try top()  // LONG_BINPUT
                case 0x68, 0x6A:  // BINGET, LONG_BINGET
                    let index = Int(try littleEndian(opcode == 0x68 ? 1 : 4))
                    guard let value = memo[index] else { throw refuse("memo entry \(index)", "none") }
                    stack.append(value)
                case 0x81: throw refuse("no NEWOBJ (no object of any class is made)", "NEWOBJ of \(try top().typeName)")
                default:
                    throw refuse(
                        "an opcode torch.load(weights_only=True) reads",
                        "opcode 0x\(String(opcode, radix: 16)) (\(Unicode.Scalar(opcode).escaped(asASCII: true)))")
                }
            }
        }

        /// A tuple of `items`, sealing the lists and dicts among them.
        func tuple(_ items: [Value]) throws -> Value {
            let depth = try nestedDepth(of: items)
            return .tuple(items, depth: depth)
        }

        /// Checks `items` may go into `box` (unsealed, not too deep), seals them and deepens the box.
        func insert(_ items: [Value], into box: Box) throws {
            guard !box.isSealed else { throw refuse("items added to a list or dict before it is stored", "one already stored") }
            box.depth = max(box.depth, try nestedDepth(of: items))
        }

        /// 1 + the deepest of `items`, within `maximumDepth`; seals the boxes among them.
        func nestedDepth(of items: [Value]) throws -> Int {
            var depth = 1
            for item in items {
                if case .list(let box) = item { box.isSealed = true }
                if case .dict(let box) = item { box.isSealed = true }
                depth = max(depth, item.depth + 1)
            }
            guard depth <= TorchPickle.maximumDepth else {
                throw refuse("containers nested at most \(TorchPickle.maximumDepth) deep", "deeper nesting")
            }
            return depth
        }

        func top() throws -> Value {
            guard let top = stack.last else { throw refuse("a value on the stack", "an empty stack") }
            return top
        }

        func list(opcode: String) throws -> Box {
            guard case .list(let box) = try top() else { throw refuse("a list to \(opcode) to", try top().typeName) }
            return box
        }

        func dict(opcode: String) throws -> Box {
            guard case .dict(let box) = try top() else { throw refuse("a dict to \(opcode) into", try top().typeName) }
            return box
        }

        mutating func global() throws {
            var module = try line()
            let name = try line()
            // Protocol 2 writes Python 2's module names, as torch's _read_global_instruction undoes.
            if module == "__builtin__" { module = "builtins" } else if module == "copy_reg" { module = "copyreg" }
            let full = "\(module).\(name)"
            guard !Self.blocked(module), TorchPickle.supportedGlobals.contains(full) else {
                throw refuse(
                    Self.blocked(module)
                        ? "no global of the modules torch blocks (os, posix, nt, sys)"
                        : "only the globals torch.load(weights_only=True) accepts for tensors",
                    "GLOBAL \(full)")
            }
            stack.append(.global(full))
        }

        static func blocked(_ module: String) -> Bool {
            TorchPickle.blockedModules.contains(String(module.split(separator: ".").first ?? ""))
        }

        mutating func reduce() throws {
            let arguments = try pop()
            let callable = try pop()
            guard case .global(let name) = callable, case .tuple(let items, _) = arguments else {
                throw refuse("REDUCE of an accepted function with a tuple of arguments", "REDUCE of \(callable.typeName)")
            }
            switch (name, items.count) {
            case ("collections.OrderedDict", 0): stack.append(.dict(Box()))
            case ("torch._utils._rebuild_tensor_v2", 6...7): stack.append(.tensor(try tensor(items)))
            case ("torch._utils._rebuild_parameter", 3), ("torch._utils._rebuild_parameter_with_state", 4):
                guard case .tensor = items[0] else { throw refuse("a tensor to make a parameter of", items[0].typeName) }
                stack.append(items[0])
            default: throw refuse("REDUCE of an accepted function with its arguments", "\(name) with \(items.count) arguments")
            }
        }

        func tensor(_ items: [Value]) throws -> Tensor {
            func integers(_ value: Value) throws -> [Int] {
                guard case .tuple(let values, _) = value else { throw refuse("a tuple of sizes or strides", value.typeName) }
                return try values.map {
                    guard case .int(let n) = $0, n >= 0 else { throw refuse("non-negative integers", $0.typeName) }
                    return n
                }
            }
            guard case .storage(let storage) = items[0], case .int(let offset) = items[1], offset >= 0 else {
                throw refuse("_rebuild_tensor_v2(storage, offset, …)", "(\(items[0].typeName), \(items[1].typeName), …)")
            }
            let shape = try integers(items[2]), strides = try integers(items[3])
            guard shape.count == strides.count else { throw refuse("as many strides as sizes", "sizes \(shape), strides \(strides)") }
            return Tensor(storage: storage, offset: offset, shape: shape, strides: strides)
        }

        mutating func build() throws {
            let state = try pop()
            // torch's BUILD sets a dict's attributes (a state dict's `_metadata`); nothing else is built here.
            guard case .dict = try top() else { throw refuse("BUILD of a dict", "BUILD of \(try top().typeName) with \(state.typeName)") }
        }

        mutating func persistentLoad() throws {
            let id = try pop()
            guard case .tuple(let items, _) = id, items.count == 5, case .string("storage") = items[0],
                case .global(let className) = items[1], let dtype = TorchPickle.storageTypes[className],
                case .string(let key) = items[2], case .int(let count) = items[4], count >= 0
            else {
                throw refuse("a persistent id ('storage', storage class, key, location, numel)", "\(id.typeName)")
            }
            stack.append(.storage(Storage(key: key, dtype: dtype, elementCount: count)))
        }
    }
}
