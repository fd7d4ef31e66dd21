SET sql_log_bin = 0;
CREATE DATABASE IF NOT EXISTS foobar CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'foobar'@'%' IDENTIFIED BY 'db-password-for-tests';
ALTER USER 'foobar'@'%' IDENTIFIED BY 'db-password-for-tests';
GRANT ALL PRIVILEGES ON foobar.* TO 'foobar'@'%';
GRANT SLAVE MONITOR ON *.* TO 'foobar'@'%';
CREATE USER IF NOT EXISTS 'replication'@'%' IDENTIFIED BY 'replication-password-for-tests';
ALTER USER 'replication'@'%' IDENTIFIED BY 'replication-password-for-tests';
GRANT REPLICATION SLAVE ON *.* TO 'replication'@'%';
