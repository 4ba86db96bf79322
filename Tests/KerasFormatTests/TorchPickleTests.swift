import Testing

@testable import KerasFormat

/// The restricted unpickler on hand-made opcode sequences: what `torch.load(weights_only=True)` would
/// refuse, and structures that would hurt the reader itself.
@Suite struct TorchPickleTests {
    func refusal(_ bytes: [UInt8]) -> String? {
        do {
            _ = try TorchPickle.load(bytes, file: "x.pth", entry: "x/data.pkl")
            return nil
        } catch let error as KerasFormatError {
            #expect(error.reason == .refused)
            return error.found
        } catch {
            return "\(error)"
        }
    }

    static let proto: [UInt8] = [0x80, 0x02]

    @Test func aFlatDictReads() throws {
        // {"a": (1, -2, True)}: EMPTY_DICT MARK BINUNICODE "a" BININT1 1 BININT -2 NEWTRUE TUPLE3 SETITEMS STOP
        let bytes = Self.proto + [0x7D, 0x28, 0x58, 1, 0, 0, 0, 0x61, 0x4B, 1, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x88, 0x87, 0x75, 0x2E]
        guard case .dict(let box) = try TorchPickle.load(bytes, file: "x.pth", entry: "x/data.pkl") else {
            Issue.record("not a dict")
            return
        }
        #expect(box.entries.count == 1)
        guard case .tuple(let items, let depth) = box.entries[0].value else { return #expect(Bool(false)) }
        #expect(depth == 1)
        guard case .int(1) = items[0], case .int(-2) = items[1], case .bool(true) = items[2] else { return #expect(Bool(false)) }
    }

    @Test func nestingDeeperThanTheLimitIsRefused() {
        let deep = Self.proto + [0x29] + [UInt8](repeating: 0x85, count: 100_000) + [0x2E]
        #expect(refusal(deep)?.contains("deeper nesting") == true)
        let fine = Self.proto + [0x29] + [UInt8](repeating: 0x85, count: TorchPickle.maximumDepth - 1) + [0x2E]
        #expect(refusal(fine) == nil)
    }

    @Test func aStoredListTakesNoMoreItems() {
        // l = []; memo[0] = l; t = (l,); l.append(None) — would make t deeper than recorded.
        let bytes = Self.proto + [0x5D, 0x71, 0, 0x85, 0x68, 0, 0x4E, 0x61, 0x2E]
        #expect(refusal(bytes)?.contains("one already stored") == true)
    }

    @Test(
        arguments: [
            ([0x63] + Array("os\nsystem\n".utf8), "GLOBAL os.system"),
            ([0x63] + Array("__builtin__\ngetattr\n".utf8), "GLOBAL builtins.getattr"),
            ([0x63] + Array("torch\nload\n".utf8), "GLOBAL torch.load"),
            ([0x8C, 1, 0x61], "opcode 0x8c"),  // SHORT_BINUNICODE (protocol 4)
            ([0x93], "opcode 0x93"),  // STACK_GLOBAL
            ([0x58, 0xFF, 0xFF, 0xFF, 0x7F], "the end of x/data.pkl (truncated)"),
            ([0x29, 0x29, 0x52], "REDUCE of tuple")
        ] as [([UInt8], String)])
    func refusedNamingWhat(_ body: [UInt8], _ says: String) {
        #expect(refusal(Self.proto + body + [0x2E])?.contains(says) == true, "\(refusal(Self.proto + body + [0x2E]) ?? "accepted")")
    }
}
