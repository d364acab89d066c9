"""The target endpoint's session statement, executed on a real MariaDB server as DMS would run it.

A full load with TRUNCATE_BEFORE_LOAD truncates every target table and loads them in its own order. MySQL and
MariaDB refuse TRUNCATE of a table that a foreign key references (error 1701), and an insert of a child row before
its parent (error 1452), unless the session turned foreign-key checks off. The target endpoint sets that statement
for DMS's sessions (MySqlSettings.AfterConnectScript); this test reads it from the synthesized template in cdk.out.
"""

import pymysql
import pytest

from mariadb_server import mariadb_servers  # noqa: F401 - the fixture
from template_loader import load_template, resources_of_type

CANNOT_TRUNCATE_REFERENCED = 1701
NO_REFERENCED_ROW = 1452


def target_session_statement():
    endpoints = [resource for resource in resources_of_type(load_template("DMSStack"), "AWS::DMS::Endpoint").values()
                 if resource["Properties"]["EndpointType"] == "target"]
    assert len(endpoints) == 1
    statement = endpoints[0]["Properties"]["MySqlSettings"].get("AfterConnectScript")
    assert isinstance(statement, str), "the target endpoint sets no AfterConnectScript"
    return statement


@pytest.fixture(scope="module")
def target(mariadb_servers):  # noqa: F811 - the fixture of mariadb_server
    server = mariadb_servers.start("target")
    server.execute(
        "CREATE DATABASE shop",
        "CREATE TABLE shop.customers (id INT PRIMARY KEY) ENGINE=InnoDB",
        "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer_id INT NOT NULL, "
        "FOREIGN KEY (customer_id) REFERENCES shop.customers (id)) ENGINE=InnoDB",
    )
    return server


@pytest.fixture
def loaded(target):
    target.execute("SET FOREIGN_KEY_CHECKS = 0", "DELETE FROM shop.orders", "DELETE FROM shop.customers",
                   "SET FOREIGN_KEY_CHECKS = 1",
                   "INSERT INTO shop.customers VALUES (1)", "INSERT INTO shop.orders VALUES (10, 1)")
    return target


def test_truncate_of_a_referenced_table_fails_in_a_default_session(loaded):
    with pytest.raises(pymysql.err.OperationalError) as error:
        loaded.execute("TRUNCATE TABLE shop.customers")
    assert error.value.args[0] == CANNOT_TRUNCATE_REFERENCED


def test_truncate_and_load_in_any_order_succeed_after_the_endpoint_statement(loaded):
    statement = target_session_statement()
    loaded.execute(statement, "TRUNCATE TABLE shop.customers", "TRUNCATE TABLE shop.orders",
                   "INSERT INTO shop.orders VALUES (10, 1)", "INSERT INTO shop.customers VALUES (1)")
    assert loaded.execute("SELECT COUNT(*) FROM shop.orders JOIN shop.customers ON customers.id = customer_id") == ((1,),)


def test_other_sessions_keep_foreign_key_checks(loaded):
    loaded.execute(target_session_statement())  # in one session ...
    with pytest.raises(pymysql.err.IntegrityError) as error:  # ... while a new one still enforces the key
        loaded.execute("INSERT INTO shop.orders VALUES (11, 99)")
    assert error.value.args[0] == NO_REFERENCED_ROW
