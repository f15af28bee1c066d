"""Definitions that tree-sitter finds in code, asserted exactly for every supported language."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ingest.parse import parse_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "code"

# fixture -> (path inside the project, language, [(name, kind, qualified name, first line, last line)])
EXPECTED: dict[str, tuple[str, str, list[tuple[str, str, str, int, int]]]] = {
    "shapes.py": ("pkg/shapes.py", "python", [
        ("_clamp", "function", "pkg.shapes._clamp", 9, 10),
        ("Point", "class", "pkg.shapes.Point", 13, 23),
        ("distance_to", "method", "pkg.shapes.Point.distance_to", 18, 19),
        ("origin", "method", "pkg.shapes.Point.origin", 21, 23),
        ("Polygon", "class", "pkg.shapes.Polygon", 26, 41),
        ("Edge", "class", "pkg.shapes.Polygon.Edge", 29, 32),
        ("__init__", "method", "pkg.shapes.Polygon.Edge.__init__", 30, 32),
        ("__init__", "method", "pkg.shapes.Polygon.__init__", 34, 35),
        ("perimeter", "method", "pkg.shapes.Polygon.perimeter", 37, 41),
        ("edge_length", "function", "pkg.shapes.Polygon.perimeter.edge_length", 38, 39),
        ("load_polygons", "function", "pkg.shapes.load_polygons", 44, 46),
    ]),
    "cart.js": ("web/cart.js", "javascript", [
        ("Cart", "class", "Cart", 4, 27),
        ("constructor", "method", "Cart.constructor", 7, 9),
        ("add", "method", "Cart.add", 11, 14),
        ("total", "method", "Cart.total", 16, 18),
        ("onChange", "method", "Cart.onChange", 20, 22),
        ("empty", "method", "Cart.empty", 24, 26),
        ("lineIds", "function", "lineIds", 29, 33),
        ("describe", "function", "describe", 35, 40),
        ("plural", "function", "describe.plural", 36, 38),
        ("checkout", "function", "checkout", 42, 44),
        ("Legacy", "function", "Legacy", 46, 48),
        ("greet", "method", "Legacy.greet", 50, 52),
    ]),
    "inventory.ts": ("src/inventory.ts", "typescript", [
        ("Item", "interface", "Item", 3, 7),
        ("describe", "method", "Item.describe", 6, 6),
        ("ItemId", "type", "ItemId", 9, 9),
        ("Status", "enum", "Status", 11, 14),
        ("sealed", "function", "sealed", 16, 18),
        ("Inventory", "class", "Inventory", 20, 32),
        ("constructor", "method", "Inventory.constructor", 24, 24),
        ("add", "method", "Inventory.add", 26, 29),
        ("find", "method", "Inventory.find", 31, 31),
        ("Store", "class", "Store", 34, 40),
        ("load", "method", "Store.load", 35, 35),
        ("cacheKey", "method", "Store.cacheKey", 37, 39),
        ("Pricing", "namespace", "Pricing", 42, 47),
        ("withTax", "function", "Pricing.withTax", 43, 46),
        ("round", "function", "Pricing.withTax.round", 44, 44),
        ("legacy-inventory", "namespace", "legacy-inventory", 49, 51),
        ("legacyLookup", "function", "legacy-inventory.legacyLookup", 50, 50),
    ]),
    "Widget.tsx": ("src/Widget.tsx", "tsx", [
        ("Props", "type", "Props", 3, 3),
        ("Counter", "function", "Counter", 5, 13),
        ("increment", "function", "Counter.increment", 7, 7),
        ("Panel", "class", "Panel", 15, 19),
        ("render", "method", "Panel.render", 16, 18),
        ("Badge", "function", "Badge", 21, 21),
    ]),
    "server.go": ("server/server.go", "go", [
        ("Handler", "interface", "Handler", 10, 13),
        ("ServeJob", "method", "Handler.ServeJob", 11, 11),
        ("Name", "method", "Handler.Name", 12, 12),
        ("Job", "struct", "Job", 15, 18),
        ("JobID", "type", "JobID", 21, 21),
        ("Result", "struct", "Result", 22, 25),
        ("Queue", "struct", "Queue", 28, 31),
        ("NewQueue", "function", "NewQueue", 33, 35),
        ("Push", "method", "Queue.Push", 37, 41),
        ("Len", "method", "Queue.Len", 43, 43),
        ("String", "method", "Job.String", 45, 50),
    ]),
    "ledger.rs": ("src/ledger.rs", "rust", [
        ("Account", "trait", "Account", 6, 12),
        ("balance", "method", "Account::balance", 7, 7),
        ("is_overdrawn", "method", "Account::is_overdrawn", 9, 11),
        ("Ledger", "struct", "Ledger", 14, 17),
        ("Entry", "enum", "Entry", 19, 22),
        ("new", "method", "Ledger::new", 25, 27),
        ("post", "method", "Ledger::post", 29, 35),
        ("fmt", "method", "Ledger::fmt", 39, 41),
        ("balance", "method", "Vec::balance", 45, 47),
        ("report", "module", "report", 50, 59),
        ("summary", "function", "report::summary", 53, 58),
        ("pad", "function", "report::summary::pad", 54, 56),
        ("credit", "macro", "credit", 61, 65),
    ]),
    "Scheduler.java": ("src/main/java/com/example/jobs/Scheduler.java", "java", [
        ("Scheduler", "class", "Scheduler", 7, 51),
        ("Job", "interface", "Scheduler.Job", 10, 16),
        ("run", "method", "Scheduler.Job.run", 11, 11),
        ("name", "method", "Scheduler.Job.name", 13, 15),
        ("Priority", "enum", "Scheduler.Priority", 18, 24),
        ("raise", "method", "Scheduler.Priority.raise", 21, 23),
        ("Result", "record", "Scheduler.Result", 26, 26),
        ("Scheduler", "method", "Scheduler.Scheduler", 28, 30),
        ("toString", "method", "Scheduler.toString", 32, 35),
        ("submit", "method", "Scheduler.submit", 37, 39),
        ("Worker", "class", "Scheduler.Worker", 41, 50),
        ("run", "method", "Scheduler.Worker.run", 42, 49),
        ("run", "method", "Scheduler.Worker.run.run", 45, 46),
        ("Retry", "interface", "Retry", 53, 55),
    ]),
    "ring.h": ("include/ring.h", "c", [
        ("RING_NEXT", "macro", "RING_NEXT", 7, 7),
        ("ring_t", "struct", "ring_t", 9, 13),
        ("ring_stats", "struct", "ring_stats", 15, 18),
        ("ring_mode", "enum", "ring_mode", 20, 20),
        ("ring_value", "union", "ring_value", 22, 25),
        ("ring_size", "function", "ring_size", 29, 31),
    ]),
    "ring.c": ("src/ring.c", "c", [
        ("ring_push", "function", "ring_push", 5, 16),
        ("ring_stats", "function", "ring_stats", 18, 18),
        ("ring_peek", "function", "ring_peek", 20, 23),
    ]),
    "matrix.cpp": ("src/matrix.cpp", "cpp", [
        ("linalg", "namespace", "linalg", 4, 38),
        ("Matrix", "class", "linalg::Matrix", 6, 23),
        ("Matrix", "method", "linalg::Matrix::Matrix", 9, 9),
        ("~Matrix", "method", "linalg::Matrix::~Matrix", 10, 10),
        ("at", "method", "linalg::Matrix::at", 12, 12),
        ("operator*", "method", "linalg::Matrix::operator*", 13, 13),
        ("Shape", "struct", "linalg::Matrix::Shape", 15, 18),
        ("Matrix", "method", "linalg::Matrix::Matrix", 25, 27),
        ("detail", "namespace", "linalg::detail", 29, 34),
        ("checked", "function", "linalg::detail::checked", 30, 33),
        ("Layout", "enum", "linalg::Layout", 36, 36),
        ("trace", "function", "trace", 40, 44),
        ("identity", "function", "linalg::identity", 46, 48),
    ]),
    "Billing.cs": ("Billing/Billing.cs", "csharp", [
        ("Billing", "namespace", "Shop.Billing", 4, 40),
        ("IInvoiceStore", "interface", "Shop.Billing.IInvoiceStore", 6, 9),
        ("Load", "method", "Shop.Billing.IInvoiceStore.Load", 8, 8),
        ("Invoice", "class", "Shop.Billing.Invoice", 11, 31),
        ("Invoice", "method", "Shop.Billing.Invoice.Invoice", 17, 17),
        ("AddLine", "method", "Shop.Billing.Invoice.AddLine", 19, 23),
        ("Rounded", "function", "Shop.Billing.Invoice.AddLine.Rounded", 21, 21),
        ("ToString", "method", "Shop.Billing.Invoice.ToString", 25, 28),
        ("State", "enum", "Shop.Billing.Invoice.State", 30, 30),
        ("Money", "struct", "Shop.Billing.Money", 33, 37),
        ("Receipt", "record", "Shop.Billing.Receipt", 39, 39),
    ]),
    "Reports.cs": ("Reports/Reports.cs", "csharp", [
        ("Summaries", "class", "Shop.Reports.Summaries", 5, 8),
        ("Describe", "method", "Shop.Reports.Summaries.Describe", 7, 7),
    ]),
    "billing.rb": ("lib/billing.rb", "ruby", [
        ("Billing", "module", "Billing", 5, 43),
        ("Error", "class", "Billing::Error", 6, 6),
        ("Invoice", "class", "Billing::Invoice", 8, 36),
        ("initialize", "method", "Billing::Invoice#initialize", 11, 14),
        ("add", "method", "Billing::Invoice#add", 16, 19),
        ("draft", "method", "Billing::Invoice.draft", 21, 23),
        ("load", "method", "Billing::Invoice.load", 26, 28),
        ("total", "method", "Billing::Invoice#total", 33, 35),
        ("Formatting", "module", "Billing::Formatting", 38, 42),
        ("money", "method", "Billing::Formatting.money", 39, 41),
        ("Line", "class", "Billing::Line", 45, 50),
        ("initialize", "method", "Billing::Line#initialize", 46, 49),
    ]),
    "UserRepository.php": ("src/Repository/UserRepository.php", "php", [
        ("Repository", "interface", "App\\Repository\\Repository", 9, 12),
        ("find", "method", "App\\Repository\\Repository::find", 11, 11),
        ("Timestamps", "trait", "App\\Repository\\Timestamps", 14, 20),
        ("touch", "method", "App\\Repository\\Timestamps::touch", 16, 19),
        ("Role", "enum", "App\\Repository\\Role", 22, 31),
        ("label", "method", "App\\Repository\\Role::label", 27, 30),
        ("UserRepository", "class", "App\\Repository\\UserRepository", 33, 55),
        ("__construct", "method", "App\\Repository\\UserRepository::__construct", 38, 40),
        ("find", "method", "App\\Repository\\UserRepository::find", 42, 49),
        ("table", "method", "App\\Repository\\UserRepository::table", 51, 54),
        ("repository_for", "function", "App\\Repository\\repository_for", 57, 60),
    ]),
    "Playlist.kt": ("app/Playlist.kt", "kotlin", [
        ("Track", "class", "Track", 5, 5),
        ("Playable", "interface", "Playable", 7, 9),
        ("play", "method", "Playable.play", 8, 8),
        ("RepeatMode", "enum", "RepeatMode", 11, 11),
        ("Playlist", "class", "Playlist", 13, 34),
        ("constructor", "method", "Playlist.constructor", 16, 18),
        ("add", "method", "Playlist.add", 20, 23),
        ("play", "method", "Playlist.play", 25, 29),
        ("log", "function", "Playlist.play.log", 26, 26),
        ("empty", "method", "Playlist.empty", 32, 32),
        ("Library", "object", "Library", 36, 42),
        ("register", "method", "Library.register", 39, 41),
        ("describe", "function", "Track.describe", 44, 44),
    ]),
    "Downloader.swift": ("Sources/Downloader.swift", "swift", [
        ("DownloadDelegate", "interface", "DownloadDelegate", 3, 5),
        ("didFinish", "method", "DownloadDelegate.didFinish", 4, 4),
        ("DownloadError", "enum", "DownloadError", 7, 17),
        ("Progress", "struct", "Progress", 19, 26),
        ("fraction", "method", "Progress.fraction", 23, 25),
        ("Downloader", "class", "Downloader", 28, 49),
        ("init", "method", "Downloader.init", 32, 34),
        ("deinit", "method", "Downloader.deinit", 36, 38),
        ("start", "method", "Downloader.start", 40, 48),
        ("finish", "function", "Downloader.start.finish", 42, 44),
        ("shared", "method", "Downloader.shared", 52, 54),
        ("Counter", "class", "Counter", 57, 64),
        ("increment", "method", "Counter.increment", 60, 63),
    ]),
    "deploy.sh": ("scripts/deploy.sh", "bash", [
        ("log", "function", "log", 5, 7),
        ("build", "function", "build", 9, 12),
        ("deploy_to", "function", "deploy_to", 14, 21),
        ("cleanup", "function", "cleanup", 16, 18),
    ]),
}


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_definitions_of_each_language_are_found_exactly(fixture: str) -> None:
    relpath, language, expected = EXPECTED[fixture]
    document = parse_file((FIXTURES / fixture).read_bytes(), relpath)
    assert (document.kind, document.language) == ("code", language)
    assert document.warnings == []
    found = [(d.name, d.kind, d.qualified_name, d.start_line, d.end_line) for d in document.definitions]
    assert found == expected


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_every_definition_starts_on_a_line_that_names_it_or_its_decoration(fixture: str) -> None:
    relpath, _, _ = EXPECTED[fixture]
    document = parse_file((FIXTURES / fixture).read_bytes(), relpath)
    lines = (FIXTURES / fixture).read_text(encoding="utf-8").splitlines()
    for definition in document.definitions:
        block = "\n".join(lines[definition.start_line - 1 : definition.end_line])
        assert definition.name in block or definition.name in ("constructor", "init", "deinit"), definition
        assert lines[definition.start_line - 1].strip(), definition  # never starts on a blank line


@pytest.mark.parametrize(
    ("relpath", "qualified"),
    [
        ("pkg/mod.py", "pkg.mod.Greeter.greet"),
        ("pkg/__init__.py", "pkg.Greeter.greet"),
        ("src/pkg/mod.py", "pkg.mod.Greeter.greet"),  # the src layout is not part of the import path
        ("setup.py", "setup.Greeter.greet"),
        ("stubs/pkg/mod.pyi", "stubs.pkg.mod.Greeter.greet"),
    ],
)
def test_python_names_start_with_the_module_path(relpath: str, qualified: str) -> None:
    source = b"class Greeter:\n    def greet(self):\n        return 'hi'\n"
    definitions = parse_file(source, relpath).definitions
    assert [d.qualified_name for d in definitions] == [qualified.rsplit(".", 1)[0], qualified]


def test_a_crlf_file_reports_the_same_lines_as_its_lf_twin() -> None:
    lf = (FIXTURES / "shapes.py").read_bytes()
    crlf = lf.replace(b"\n", b"\r\n")
    assert parse_file(crlf, "pkg/shapes.py").definitions == parse_file(lf, "pkg/shapes.py").definitions


def test_lone_cr_line_ends_count_as_lines() -> None:
    source = b"def a():\r    pass\r\rdef b():\r    pass\r"
    definitions = parse_file(source, "old_mac.py").definitions
    assert [(d.name, d.start_line, d.end_line) for d in definitions] == [("a", 1, 2), ("b", 4, 5)]


def test_a_syntax_error_is_reported_with_its_line_and_later_definitions_survive() -> None:
    source = (
        b"def ok():\n    return 1\n\n"
        b"def broken(:\n    pass\n\n"
        b"class After:\n    def method(self):\n        pass\n"
    )
    document = parse_file(source, "pkg/broken.py")
    assert document.warnings == ["syntax error at line 4: definitions near it may be missing"]
    names = [d.qualified_name for d in document.definitions]
    assert "pkg.broken.ok" in names
    assert "pkg.broken.After.method" in names


def test_deeply_nested_functions_are_qualified_without_recursion() -> None:
    depth = 500  # a recursive walk takes several frames per level: past Python's default limit of 1000
    source = "".join(f"{'    ' * level}def f{level}():\n" for level in range(depth))
    source += "    " * depth + "pass\n"
    definitions = parse_file(source.encode(), "deep.py").definitions
    assert len(definitions) == depth
    innermost = definitions[-1]
    assert innermost.qualified_name == "deep." + ".".join(f"f{level}" for level in range(depth))
    assert (innermost.start_line, innermost.end_line) == (depth, depth + 1)


def test_a_long_qualified_name_does_not_recurse() -> None:
    parts = [f"n{i}" for i in range(3 * sys.getrecursionlimit())]
    source = f"namespace {'.'.join(parts)}\n{{\n    class Leaf {{ }}\n}}\n".encode()
    definitions = parse_file(source, "Deep.cs").definitions
    assert [(d.name, d.kind) for d in definitions] == [(parts[-1], "namespace"), ("Leaf", "class")]
    assert definitions[1].qualified_name == ".".join(parts) + ".Leaf"


def test_pathologically_nested_expressions_parse() -> None:
    source = b"const data = " + b"[" * 50_000 + b"]" * 50_000 + b";\nfunction after() {}\n"
    document = parse_file(source, "nested.js")
    assert [(d.name, d.start_line) for d in document.definitions] == [("after", 2)]


def test_cpp_out_of_line_definitions_are_methods_unless_their_qualifier_is_a_namespace() -> None:
    source = (
        b"namespace geo { struct Box { int area() const; }; }\n"
        b"int geo::Box::area() const { return 1; }\n"
        b"namespace geo { int origin(); }\n"
        b"int geo::origin() { return 0; }\n"
        b"void Widget::draw() {}\n"
    )
    found = [(d.qualified_name, d.kind) for d in parse_file(source, "geo.cpp").definitions]
    assert found == [
        ("geo", "namespace"),
        ("geo::Box", "struct"),
        ("geo::Box::area", "method"),
        ("geo::Box::area", "method"),
        ("geo", "namespace"),
        ("geo::origin", "function"),
        ("Widget::draw", "method"),
    ]


def test_a_c_header_is_c_and_a_cpp_header_named_h_is_cpp() -> None:
    assert parse_file(b"struct point { int x; };\n", "geo.h").language == "c"
    assert parse_file(b"struct point { int x; };\n", "geo.hpp").language == "cpp"
    cpp_header = b"#pragma once\nnamespace geo {\nclass Point {\npublic:\n    int x() const;\n};\n}\n"
    document = parse_file(cpp_header, "geo/point.h")
    assert document.language == "cpp"
    assert [d.qualified_name for d in document.definitions] == ["geo", "geo::Point", "geo::Point::x"]


def test_c_preprocessor_tricks_do_not_warn_of_syntax_errors() -> None:
    source = b'#ifdef __cplusplus\nextern "C" {\n#endif\nint api(void);\n#ifdef __cplusplus\n}\n#endif\n'
    source += b"API_EXPORT int visible(int x) { return x; }\n"
    document = parse_file(source, "api.h")
    assert document.warnings == []
    assert [d.name for d in document.definitions] == ["visible"]


def test_a_function_pointer_field_is_not_a_function() -> None:
    source = b"struct ops {\n    int (*apply)(int);\n};\nint twice(int x) { return 2 * x; }\n"
    found = [(d.name, d.kind) for d in parse_file(source, "ops.c").definitions]
    assert found == [("ops", "struct"), ("twice", "function")]


def test_typescript_decorators_belong_to_their_class_and_members() -> None:
    source = (
        b'@Component({ selector: "app-root" })\n'
        b"export class AppComponent {\n"
        b'  @HostListener("click")\n'
        b"  @Debounce(200)\n"
        b"  onClick(): void {}\n"
        b"}\n"
    )
    definitions = parse_file(source, "app.component.ts").definitions
    found = [(d.qualified_name, d.start_line, d.end_line) for d in definitions]
    assert found == [("AppComponent", 1, 6), ("AppComponent.onClick", 3, 5)]


def test_commonjs_exports_are_named_by_what_they_export() -> None:
    source = (
        b"module.exports = function handler(event) {\n  return event;\n};\n"
        b"module.exports = function () {};\n"
        b"exports.format = (value) => String(value);\n"
    )
    found = [(d.name, d.start_line) for d in parse_file(source, "lambda.js").definitions]
    assert found == [("handler", 1), ("format", 5)]
