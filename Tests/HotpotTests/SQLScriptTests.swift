import HotpotCore
import Testing

@Suite(.timeLimit(.minutes(10))) struct SQLScriptTests {
    @Test func splitsAtTopLevelSemicolonsOnly() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'a;b');
            /* block; comment */ SELECT "we;ird" FROM a;
            CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;
            DO $body$ BEGIN PERFORM 1; END $body$;
            SELECT 'it''s; fine'
            """
        let statements = SQLScript.statements(sql)
        #expect(statements.count == 5)
        #expect(statements[0].hasSuffix("DEFAULT 'a;b')"))
        #expect(statements[2].contains("$$ SELECT 1; $$"))
        #expect(statements[3].contains("PERFORM 1; END"))
        #expect(statements[4] == "SELECT 'it''s; fine'")
    }

    @Test func commentOnlyTailIsNotAStatement() {
        #expect(SQLScript.statements("SELECT 1; -- done\n").count == 1)
        #expect(SQLScript.statements("  /* nothing */ ").isEmpty)
    }

    @Test func nestedBlockComments() {
        #expect(SQLScript.statements("/* a /* b; */ c; */ SELECT 1; SELECT 2") .count == 2)
    }
}
