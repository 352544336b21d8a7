# Written on a branch before 20240301090000 and merged after it was deployed: an older timestamp
# that is still pending while a newer one is applied.
class IndexCustomerName < ActiveRecord::Migration[6.1]
  def change
    add_index :orders, :customer_name
  end
end
