# Runs real ActiveRecord migrations for tests/integration/test_migration_tools.cpp.
#   ruby activerecord_migrate.rb DATABASE_URL MIGRATIONS_DIR ACTION [VERSION]
# ACTION: migrate [VERSION] (MigrationContext#migrate: every pending migration up to VERSION),
#         up VERSION / down VERSION (MigrationContext#run: that one migration),
#         needs_migration (prints MigrationContext#needs_migration?: true or false).
require "active_record"

url, dir, action, version = ARGV
abort("usage: #{$PROGRAM_NAME} URL DIR migrate|up|down|needs_migration [VERSION]") unless url && dir && action
ActiveRecord::Base.establish_connection(url)
ActiveRecord::Migration.verbose = false
context = ActiveRecord::MigrationContext.new(dir, ActiveRecord::SchemaMigration)
case action
when "migrate" then context.migrate(version && Integer(version, 10))
when "up" then context.run(:up, Integer(version, 10))
when "down" then context.run(:down, Integer(version, 10))
when "needs_migration" then puts context.needs_migration?
else abort("unknown action #{action}")
end
