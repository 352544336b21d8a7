#pragma once

#include <string>
#include <vector>

struct Migration {
    std::string file;  // "2_expand_customer.sql": the number before '_' is the version
    std::string sql;
};

// In version order.
const std::vector<Migration>& migrations();
