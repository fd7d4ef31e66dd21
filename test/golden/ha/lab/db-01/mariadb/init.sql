SET SESSION wsrep_on = OFF;
CREATE DATABASE IF NOT EXISTS foobar CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'foobar'@'%' IDENTIFIED BY 'db-password-for-tests';
ALTER USER 'foobar'@'%' IDENTIFIED BY 'db-password-for-tests' REQUIRE SSL;
GRANT ALL PRIVILEGES ON foobar.* TO 'foobar'@'%';
GRANT SLAVE MONITOR ON *.* TO 'foobar'@'%';
CREATE USER IF NOT EXISTS 'exporter'@'localhost' IDENTIFIED BY 'exporter-password-for-tests' WITH MAX_USER_CONNECTIONS 3;
ALTER USER 'exporter'@'localhost' IDENTIFIED BY 'exporter-password-for-tests' WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.* TO 'exporter'@'localhost';
